namespace UserBridge.Core;

/// <summary>
/// Pinned frame buffers, rented by workers when they start (a whole batch at once) and returned when they
/// stop: never per frame, so the lock here is off the hot path. <see cref="Outstanding"/> lets tests fail on
/// a leaked buffer.
/// </summary>
public sealed class BufferPool
{
    /// <summary>Room for a 64 KiB GSO frame behind a virtio-net header, and more than any tagged frame.</summary>
    public const int DefaultBufferSize = 65536 + 64;

    private readonly Stack<PacketBuffer> _free = new();
    private readonly Lock _lock = new();
    private int _outstanding;

    public BufferPool(int bufferSize = DefaultBufferSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bufferSize, EthernetFrame.HeaderLength);
        BufferSize = bufferSize;
    }

    public int BufferSize { get; }

    /// <summary>Buffers rented and not yet returned.</summary>
    public int Outstanding => Volatile.Read(ref _outstanding);

    public PacketBuffer[] RentBatch(int count)
    {
        var batch = new PacketBuffer[count];
        lock (_lock)
        {
            for (var i = 0; i < count; i++)
            {
                batch[i] = _free.Count > 0 ? _free.Pop() : new PacketBuffer(BufferSize);
            }

            _outstanding += count;
        }

        return batch;
    }

    public void ReturnBatch(PacketBuffer[] batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        lock (_lock)
        {
            foreach (var buffer in batch)
            {
                buffer.Length = 0;
                _free.Push(buffer);
            }

            _outstanding -= batch.Length;
        }
    }
}
