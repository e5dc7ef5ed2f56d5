namespace UserBridge.Core.Buffers;

/// <summary>
/// A bounded queue of frames, each with a small record of <typeparamref name="TMetadata"/>, from any number of
/// workers to one consumer thread: the egress of ports whose writes can block (stream sockets, with no metadata)
/// and the capture ring (with where and why each copy was taken). A worker copies its frame into a slot and
/// returns at once; when the queue is full the frame is refused (the caller counts it) and the worker is never
/// held up by a slow consumer.
/// </summary>
/// <remarks>
/// A bounded multi-producer ring in Dmitry Vyukov's style: each cell carries a sequence number that says whose
/// turn it is. A producer claims a position with one compare-and-swap, copies the frame, then publishes the cell
/// by advancing its sequence (a release write); the single consumer sees a cell only after that write, so never
/// a half-copied frame. Slot buffers are allocated once and grow only when a larger frame arrives, so steady
/// traffic allocates nothing. The consumer sleeps on an event only after announcing it (<c>_consumerAsleep</c>)
/// and re-checking the queue; a producer wakes it only when it announced sleep, so the common path makes no
/// system call.
/// </remarks>
public sealed class FrameRing<TMetadata> : IDisposable
    where TMetadata : struct
{
    public const int DefaultCapacity = 256;

    /// <summary>Room left in front of each frame for a header the sender writes in the same buffer.</summary>
    public const int HeaderRoom = 16;

    private const int InitialSlotSize = 2048;

    private readonly Cell[] _cells;
    private readonly int _mask;
    private readonly ManualResetEventSlim _wake = new(false);
    private long _enqueuePosition;
    private long _dequeuePosition;
    private readonly TimeSpan _batchLatency;
    private readonly long _wakeBacklog;
    private int _consumerAsleep;

    /// <summary>
    /// A ring of <paramref name="capacity"/> frames (rounded up to a power of two). By default a producer wakes a
    /// sleeping consumer at once (a port's transmit queue: latency counts). With <paramref name="batchLatency"/> (a
    /// capture: throughput counts), producers wake it only once a quarter of the ring is waiting, and the consumer
    /// otherwise wakes by itself after that long: workers then make no system call per frame at any rate.
    /// </summary>
    public FrameRing(int capacity = DefaultCapacity, TimeSpan? batchLatency = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 2);
        var size = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)capacity);
        _cells = new Cell[size];
        for (var i = 0; i < size; i++)
        {
            _cells[i] = new Cell(i);
        }

        _mask = size - 1;
        _batchLatency = batchLatency ?? Timeout.InfiniteTimeSpan;
        _wakeBacklog = batchLatency is null ? 1 : Math.Max(1, size / 4);
    }

    public int Capacity => _cells.Length;

    /// <summary>Copies the frame into the queue. Returns false, copying nothing, when the queue is full.</summary>
    public bool TryEnqueue(ReadOnlySpan<byte> frame) => TryEnqueue(frame, default);

    /// <summary>Copies the frame and its metadata into the queue. Returns false, copying nothing, when the queue is full.</summary>
    public bool TryEnqueue(ReadOnlySpan<byte> frame, in TMetadata metadata)
    {
        var position = Volatile.Read(ref _enqueuePosition);
        while (true)
        {
            var cell = _cells[position & _mask];
            var sequence = Volatile.Read(ref cell.Sequence);
            var difference = sequence - position;
            if (difference == 0)
            {
                var seen = Interlocked.CompareExchange(ref _enqueuePosition, position + 1, position);
                if (seen == position)
                {
                    cell.Store(frame);
                    cell.Metadata = metadata;

                    // Full fence, not just release: the copied frame is visible before the consumer sees the cell
                    // as full, and the read of _consumerAsleep in WakeConsumer cannot move before this store (else a
                    // consumer going to sleep at this moment would miss the frame and not be woken).
                    Interlocked.Exchange(ref cell.Sequence, position + 1);
                    WakeConsumer(position + 1);
                    return true;
                }

                position = seen;
            }
            else if (difference < 0)
            {
                return false;
            }
            else
            {
                position = Volatile.Read(ref _enqueuePosition);
            }
        }
    }

    /// <summary>
    /// Single consumer: waits until a frame is queued or <paramref name="cancellation"/> fires, then calls
    /// <paramref name="handle"/> with a buffer holding <see cref="HeaderRoom"/> free bytes followed by the frame.
    /// Returns false when cancelled.
    /// </summary>
    public bool TryDequeue(FrameHandler handle, CancellationToken cancellation)
    {
        ArgumentNullException.ThrowIfNull(handle);
        while (true)
        {
            if (TryDequeueNow(handle))
            {
                return true;
            }

            if (!Sleep(_dequeuePosition, cancellation))
            {
                return false;
            }
        }
    }

    /// <summary>Single consumer: hands over the oldest frame if one is queued; false at once when none is.</summary>
    public bool TryDequeueNow(FrameHandler handle)
    {
        ArgumentNullException.ThrowIfNull(handle);
        var position = _dequeuePosition;
        var cell = _cells[position & _mask];
        if (Volatile.Read(ref cell.Sequence) != position + 1)
        {
            return false;
        }

        handle(cell.Buffer, cell.Length, cell.Metadata);
        _dequeuePosition = position + 1;

        // Release: the consumer is done with the buffer before producers may reuse the cell.
        Volatile.Write(ref cell.Sequence, position + _cells.Length);
        return true;
    }

    /// <summary>Releases the ring; its slots' buffers go back to <see cref="PortBufferPool"/>. No producer or consumer may use it any more.</summary>
    public void Dispose()
    {
        foreach (var cell in _cells)
        {
            cell.Release();
        }

        _wake.Dispose();
    }

    private bool Sleep(long position, CancellationToken cancellation)
    {
        _wake.Reset();
        Interlocked.Exchange(ref _consumerAsleep, 1);

        // The exchange is a full fence: a producer that published after our check below will see the flag.
        if (Volatile.Read(ref _cells[position & _mask].Sequence) == position + 1)
        {
            Volatile.Write(ref _consumerAsleep, 0);
            return true;
        }

        try
        {
            _wake.Wait(_batchLatency, cancellation);
            Volatile.Write(ref _consumerAsleep, 0);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private void WakeConsumer(long enqueued)
    {
        if (Volatile.Read(ref _consumerAsleep) == 1 && enqueued - Volatile.Read(ref _dequeuePosition) >= _wakeBacklog && Interlocked.Exchange(ref _consumerAsleep, 0) == 1)
        {
            _wake.Set();
        }
    }

    /// <summary>
    /// Hands the consumer a buffer: <see cref="HeaderRoom"/> bytes of room, then <paramref name="frameLength"/> bytes
    /// of frame, and the frame's metadata. The buffer is the queue's: use it before returning.
    /// </summary>
    public delegate void FrameHandler(byte[] buffer, int frameLength, in TMetadata metadata);

    private sealed class Cell(long sequence)
    {
        public long Sequence = sequence;

        public byte[] Buffer { get; private set; } = PortBufferPool.Rent(InitialSlotSize + HeaderRoom);

        public int Length { get; private set; }

        public TMetadata Metadata;

        /// <summary>Gives a buffer of the standard size back to the pool (one grown for a large frame is left to the collector).</summary>
        public void Release()
        {
            if (Buffer.Length == InitialSlotSize + HeaderRoom)
            {
                PortBufferPool.Return(Buffer);
            }

            Buffer = [];
        }

        public void Store(ReadOnlySpan<byte> frame)
        {
            if (frame.Length + HeaderRoom > Buffer.Length)
            {
                // Grows once to the largest frame seen; steady traffic then allocates nothing.
                Buffer = GC.AllocateUninitializedArray<byte>(frame.Length + HeaderRoom);
            }

            frame.CopyTo(Buffer.AsSpan(HeaderRoom));
            Length = frame.Length;
        }
    }
}

/// <summary>The metadata of a <see cref="FrameRing{TMetadata}"/> whose frames need none (a port's transmit queue).</summary>
public readonly record struct NoMetadata;
