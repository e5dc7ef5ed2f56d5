using UserBridge.Core.Frames;


namespace UserBridge.Control.Tests;

internal static class TestFrames
{
    /// <summary>An IPv4-typed Ethernet frame of <paramref name="length"/> bytes (zero payload).</summary>
    public static byte[] Ethernet(MacAddress destination, MacAddress source, int length)
    {
        var frame = new byte[length];
        destination.Write(frame);
        source.Write(frame.AsSpan(6));
        frame[12] = 0x08;
        return frame;
    }
}
