using UserBridge.Core.Offload;

namespace UserBridge.Core;

/// <summary>
/// What one worker thread needs to rewrite frames without allocating: the GSO segmenter and two scratch buffers
/// for the untagged and the tagged copy of a frame whose service tag must be popped, pushed or rewritten, and one
/// for the tagged copies a mirror sends.
/// </summary>
public sealed class WorkerContext
{
    private const int ScratchSize = BufferPool.DefaultBufferSize + EthernetFrame.VlanTagLength;

    public GsoSegmenter Segmenter { get; } = new();

    internal byte[] Untagged { get; } = GC.AllocateArray<byte>(ScratchSize, pinned: true);

    internal byte[] Tagged { get; } = GC.AllocateArray<byte>(ScratchSize, pinned: true);

    /// <summary>A mirror's tagged copy of a frame that may itself have been tagged on egress.</summary>
    internal byte[] Mirror { get; } = GC.AllocateArray<byte>(ScratchSize + EthernetFrame.VlanTagLength, pinned: true);
}
