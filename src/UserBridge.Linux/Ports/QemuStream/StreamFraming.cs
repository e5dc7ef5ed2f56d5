using System.Buffers.Binary;

namespace UserBridge.Linux.Ports.QemuStream;

/// <summary>What the next bytes of a QEMU stream hold.</summary>
public enum StreamFrameStatus
{
    /// <summary>A whole frame: its length prefix and that many bytes.</summary>
    Frame,

    /// <summary>Not a whole frame yet: read more.</summary>
    NeedMore,

    /// <summary>A length prefix of 0 or over <see cref="StreamFraming.MaxFrameLength"/>: the stream cannot be trusted past it.</summary>
    BadLength,
}

/// <summary>
/// QEMU's <c>-netdev stream</c> framing: each frame is a 32-bit big-endian length, then that many bytes. Pure, so that
/// the parsing is tested (and fuzzed) apart from the socket.
/// </summary>
public static class StreamFraming
{
    public const int LengthPrefix = 4;

    /// <summary>The longest frame a stream may carry (QEMU's own limit for a socket backend).</summary>
    public const int MaxFrameLength = 65535;

    /// <summary>
    /// Reads the frame at the start of <paramref name="available"/>: its length (also the bad one, for the error), and
    /// whether it is whole, still arriving or impossible.
    /// </summary>
    public static StreamFrameStatus Next(ReadOnlySpan<byte> available, out int frameLength)
    {
        frameLength = 0;
        if (available.Length < LengthPrefix)
        {
            return StreamFrameStatus.NeedMore;
        }

        frameLength = BinaryPrimitives.ReadInt32BigEndian(available);
        if (frameLength is <= 0 or > MaxFrameLength)
        {
            return StreamFrameStatus.BadLength;
        }

        return available.Length >= LengthPrefix + frameLength ? StreamFrameStatus.Frame : StreamFrameStatus.NeedMore;
    }
}
