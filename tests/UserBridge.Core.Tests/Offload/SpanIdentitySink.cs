using UserBridge.Core.Offload;

namespace UserBridge.Core.Tests.Offload;

/// <summary>Tells a pass-through from a copy: counts the frames that are the very memory of <c>input</c>.</summary>
internal struct SpanIdentitySink(byte[] input) : IFrameSink
{
    public int FrameCount { get; private set; }

    public int InputItselfCount { get; private set; }

    public void Emit(ReadOnlySpan<byte> frame)
    {
        FrameCount++;
        if (frame.Length == input.Length && frame.Overlaps(input, out var offset) && offset == 0)
        {
            InputItselfCount++;
        }
    }
}
