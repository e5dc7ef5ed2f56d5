using UserBridge.Core.Offload;

namespace UserBridge.Core.Tests.Offload;

/// <summary>Counts frames and bytes without keeping anything: a sink that cannot allocate.</summary>
internal struct CountingSink : IFrameSink
{
    public int FrameCount { get; private set; }

    public long ByteCount { get; private set; }

    public void Emit(ReadOnlySpan<byte> frame)
    {
        FrameCount++;
        ByteCount += frame.Length;
    }
}
