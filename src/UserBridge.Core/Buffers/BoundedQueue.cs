namespace UserBridge.Core.Buffers;

/// <summary>
/// A bounded queue of small records from any number of threads to one reader. Adding costs one compare-and-swap and
/// never waits: a full queue refuses the record (the caller counts it). Taking never waits either. The event ring
/// (<c>EventRing</c>) and the bridge's control inbox (<c>ControlInbox</c>) are built on it.
/// </summary>
/// <remarks>
/// Dmitry Vyukov's bounded queue, with the sequence-numbered cells of <see cref="FrameRing{TMetadata}"/> and the record
/// stored in the cell itself. Each cell's sequence says whose turn it is: a writer claims a position with one
/// compare-and-swap, writes the record, then publishes the cell by advancing its sequence (a release write); the reader
/// sees a cell only after that write, and hands it back (another release write) only after reading the record.
/// </remarks>
internal sealed class BoundedQueue<T>
    where T : struct
{
    private readonly Cell[] _cells;
    private readonly int _mask;
    private long _enqueuePosition;
    private long _dequeuePosition;

    /// <summary>A queue of <paramref name="capacity"/> records, rounded up to a power of two.</summary>
    public BoundedQueue(int capacity)
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

    public int Capacity => _cells.Length;

    /// <summary>Any thread: queues <paramref name="item"/>; false, at once, when the queue is full.</summary>
    public bool TryAdd(in T item)
    {
        var position = Volatile.Read(ref _enqueuePosition);
        while (true)
        {
            ref var cell = ref _cells[position & _mask];
            var turn = Volatile.Read(ref cell.Sequence) - position;
            if (turn < 0)
            {
                // The reader has not handed this cell back since the last lap: the queue is full.
                return false;
            }

            if (turn > 0)
            {
                // Another writer claimed this position first: try the newest one.
                position = Volatile.Read(ref _enqueuePosition);
                continue;
            }

            var claimed = Interlocked.CompareExchange(ref _enqueuePosition, position + 1, position);
            if (claimed != position)
            {
                position = claimed;
                continue;
            }

            cell.Item = item;

            // Release: the record is written before the reader sees the cell as full.
            Volatile.Write(ref cell.Sequence, position + 1);
            return true;
        }
    }

    /// <summary>The one reader: takes the oldest record; false, at once, when there is none.</summary>
    public bool TryTake(out T item)
    {
        var position = _dequeuePosition;
        ref var cell = ref _cells[position & _mask];
        if (Volatile.Read(ref cell.Sequence) != position + 1)
        {
            item = default;
            return false;
        }

        item = cell.Item;

        // The cell lets go of what the record points to (a port, an exception, a name) until it is written again.
        cell.Item = default;
        _dequeuePosition = position + 1;

        // Release: the record is read before a writer may write the cell again.
        Volatile.Write(ref cell.Sequence, position + _cells.Length);
        return true;
    }

    private struct Cell
    {
        public long Sequence;
        public T Item;
    }
}
