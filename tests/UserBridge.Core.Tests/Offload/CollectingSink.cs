using UserBridge.Core.Offload;

namespace UserBridge.Core.Tests.Offload;

/// <summary>Copies every emitted frame out (the segmenter's span dies with the call).</summary>
internal readonly struct CollectingSink() : IFrameSink
{
    public List<byte[]> Frames { get; } = [];

    public void Emit(ReadOnlySpan<byte> frame) => Frames.Add(frame.ToArray());
}
