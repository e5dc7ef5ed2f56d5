using UserBridge.Core.Buffers;
using UserBridge.Core.Frames;
using UserBridge.Core.Offload;

namespace UserBridge.Core.Workers;

/// <summary>
/// What one worker thread needs to rewrite frames without allocating: the GSO segmenter and two scratch buffers
/// for the untagged and the tagged copy of a frame whose service tag must be popped, pushed or rewritten, and one
/// for the tagged copies a mirror sends. The buffers (a quarter of a megabyte) come from
/// <see cref="PortBufferPool"/> and go back on <see cref="Dispose"/>: a worker that starts for each connection of a
/// reconnecting VM reuses the last one's instead of adding to the heap, whose growth drives full collections.
/// </summary>
public sealed class WorkerContext : IDisposable
{
    private const int ScratchSize = BufferPool.DefaultBufferSize + EthernetFrame.VlanTagLength;

    private bool _disposed;

    public GsoSegmenter Segmenter { get; } = new(PortBufferPool.Rent(GsoSegmenter.MaxSegmentLength));

    internal byte[] Untagged { get; } = PortBufferPool.Rent(ScratchSize);

    internal byte[] Tagged { get; } = PortBufferPool.Rent(ScratchSize);

    /// <summary>A mirror's tagged copy of a frame that may itself have been tagged on egress.</summary>
    internal byte[] Mirror { get; } = PortBufferPool.Rent(ScratchSize + EthernetFrame.VlanTagLength);

    /// <summary>Gives the buffers back to the pool; only once the worker that used them has stopped.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        PortBufferPool.Return(Segmenter.Scratch);
        PortBufferPool.Return(Untagged);
        PortBufferPool.Return(Tagged);
        PortBufferPool.Return(Mirror);
    }
}
