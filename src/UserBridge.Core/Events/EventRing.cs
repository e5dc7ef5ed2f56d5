using UserBridge.Core.Buffers;

namespace UserBridge.Core.Events;

/// <summary>
/// A bounded queue of <see cref="BridgeEvent"/>s from any thread (workers learning MACs, the control plane) to one
/// reader. Publishing is off until a reader turns it on (<see cref="Enabled"/>): then an event costs one
/// compare-and-swap, and a full ring drops the event and counts it (<see cref="Lost"/>) rather than wait.
/// </summary>
/// <remarks>The same sequence-numbered cells as <see cref="FrameRing{TMetadata}"/> (Vyukov's bounded queue), with the
/// event stored in the cell itself.</remarks>
public sealed class EventRing
{
    public const int DefaultCapacity = 4096;

    private readonly Cell[] _cells;
    private readonly int _mask;
    private long _enqueuePosition;
    private long _dequeuePosition;
    private long _lost;
    private volatile bool _enabled;

    public EventRing(int capacity = DefaultCapacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 2);
        var size = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)capacity);
        _cells = new Cell[size];
        for (var i = 0; i < size; i++)
        {
            _cells[i].Sequence = i;
        }

        _mask = size - 1;
    }

    /// <summary>Whether events are recorded; off (and free) while nobody reads them.</summary>
    public bool Enabled
    {
        get => _enabled;
        set => _enabled = value;
    }

    /// <summary>Events dropped because the ring was full.</summary>
    public long Lost => Interlocked.Read(ref _lost);

    /// <summary>Records <paramref name="item"/> when enabled; never waits.</summary>
    public void Publish(in BridgeEvent item)
    {
        if (!_enabled)
        {
            return;
        }

        var position = Volatile.Read(ref _enqueuePosition);
        while (true)
        {
            ref var cell = ref _cells[position & _mask];
            var difference = Volatile.Read(ref cell.Sequence) - position;
            if (difference == 0)
            {
                var seen = Interlocked.CompareExchange(ref _enqueuePosition, position + 1, position);
                if (seen == position)
                {
                    cell.Event = item;
                    Volatile.Write(ref cell.Sequence, position + 1);
                    return;
                }

                position = seen;
            }
            else if (difference < 0)
            {
                Interlocked.Increment(ref _lost);
                return;
            }
            else
            {
                position = Volatile.Read(ref _enqueuePosition);
            }
        }
    }

    /// <summary>Takes the oldest event; false when there is none. One reader only.</summary>
    public bool TryTake(out BridgeEvent item)
    {
        var position = _dequeuePosition;
        ref var cell = ref _cells[position & _mask];
        if (Volatile.Read(ref cell.Sequence) != position + 1)
        {
            item = default;
            return false;
        }

        item = cell.Event;
        Volatile.Write(ref cell.Sequence, position + _cells.Length);
        _dequeuePosition = position + 1;
        return true;
    }

    private struct Cell
    {
        public long Sequence;
        public BridgeEvent Event;
    }
}
