using UserBridge.Core.Frames;

namespace UserBridge.Core.Buffers;

/// <summary>
/// Frame buffers, rented by workers when they start (a whole batch at once) and returned when they stop: never per
/// frame, so the lock here is off the hot path. <see cref="Outstanding"/> lets tests fail on a leaked buffer.
/// </summary>
/// <remarks>
/// A QEMU stream connection has a worker of its own, and its batch is two megabytes: the pool keeps at most
/// <see cref="MaxFreeBytes"/> of returned buffers for the next workers, forgets those no worker took for a whole sweep
/// (<see cref="TrimIdle"/>), and leaves them to the collector (counted for <see cref="PortBufferPool.Trim"/>), so that
/// the memory of a burst of connections goes back when they leave.
/// </remarks>
public sealed class BufferPool
{
    /// <summary>Room for a 64 KiB GSO frame behind a virtio-net header, and more than any tagged frame.</summary>
    public const int DefaultBufferSize = 65536 + 64;

    /// <summary>The most memory the pool keeps in buffers nobody rents: 32 batches of default buffers.</summary>
    public const long MaxFreeBytes = 64L << 20;

    private readonly FreeList<PacketBuffer> _free = new();
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
                batch[i] = _free.TryPop(out var buffer) ? buffer : new PacketBuffer(BufferSize);
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
                if ((long)(_free.Count + 1) * BufferSize > MaxFreeBytes)
                {
                    PortBufferPool.Abandon(buffer.Array.Length);
                    continue;
                }

                buffer.Length = 0;
                _free.Push(buffer);
            }

            _outstanding -= batch.Length;
        }
    }

    /// <summary>Lets go of the free buffers no worker took since the last call (the bridge's sweep calls it).</summary>
    public void TrimIdle()
    {
        lock (_lock)
        {
            _free.TrimIdle(static buffer => PortBufferPool.Abandon(buffer.Array.Length));
        }
    }
}
