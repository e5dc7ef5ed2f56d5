using UserBridge.Core.Buffers;

namespace UserBridge.Core.Events;

/// <summary>
/// A bounded queue of <see cref="BridgeEvent"/>s from any thread (workers learning MACs, the control plane) to one
/// reader. Publishing is off until a reader turns it on (<see cref="Enabled"/>): then an event costs one
/// compare-and-swap, and a full ring drops the event and counts it (<see cref="Lost"/>) rather than wait.
/// </summary>
/// <remarks>A <see cref="BoundedQueue{T}"/> of events (Vyukov's bounded queue) behind the switch.</remarks>
public sealed class EventRing
{
    public const int DefaultCapacity = 4096;

    private readonly BoundedQueue<BridgeEvent> _queue;
    private long _lost;
    private volatile bool _enabled;

    public EventRing(int capacity = DefaultCapacity) => _queue = new BoundedQueue<BridgeEvent>(capacity);

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
        if (_enabled && !_queue.TryAdd(item))
        {
            Interlocked.Increment(ref _lost);
        }
    }

    /// <summary>Takes the oldest event; false when there is none. One reader only.</summary>
    public bool TryTake(out BridgeEvent item) => _queue.TryTake(out item);
}
