namespace UserBridge.Core.Tests.Offload;

/// <summary>
/// The reference the fast code is checked against: RFC 1071 done the obvious way, one big-endian byte pair
/// at a time, and pseudo-headers laid out as bytes exactly as the RFCs draw them.
/// </summary>
internal static class NaiveChecksum
{
    public static ushort Sum(ReadOnlySpan<byte> data, ushort initialSum = 0)
    {
        ulong sum = initialSum;
        for (var i = 0; i < data.Length; i += 2)
        {
            var high = data[i];
            var low = i + 1 < data.Length ? data[i + 1] : (byte)0;
            sum += (uint)((high << 8) | low);
        }

        while (sum >> 16 != 0)
        {
            sum = (sum & 0xFFFF) + (sum >> 16);
        }

        return (ushort)sum;
    }

    /// <summary>RFC 793/768: source, destination, zero, protocol, 16-bit length.</summary>
    public static byte[] Ipv4PseudoHeader(ReadOnlySpan<byte> ipv4Header, byte protocol, int transportLength)
    {
        var pseudo = new byte[12];
        ipv4Header[12..20].CopyTo(pseudo);
        pseudo[9] = protocol;
        pseudo[10] = (byte)(transportLength >> 8);
        pseudo[11] = (byte)transportLength;
        return pseudo;
    }

    /// <summary>RFC 8200 §8.1: source, destination, 32-bit length, three zero bytes, next header.</summary>
    public static byte[] Ipv6PseudoHeader(ReadOnlySpan<byte> ipv6Header, byte protocol, int transportLength)
    {
        var pseudo = new byte[40];
        ipv6Header[8..40].CopyTo(pseudo);
        pseudo[32] = (byte)(transportLength >> 24);
        pseudo[33] = (byte)(transportLength >> 16);
        pseudo[34] = (byte)(transportLength >> 8);
        pseudo[35] = (byte)transportLength;
        pseudo[39] = protocol;
        return pseudo;
    }

    /// <summary>True when the transport checksum of <paramref name="frame"/> verifies: pseudo-header plus segment sums to all ones.</summary>
    public static bool TransportChecksumVerifies(byte[] frame, TestFrame layout)
    {
        var transport = frame.AsSpan(layout.L4Offset);
        var l3 = frame.AsSpan(layout.L3Offset);
        var pseudo = layout.IsIpv6
            ? Ipv6PseudoHeader(l3, layout.Protocol, transport.Length)
            : Ipv4PseudoHeader(l3, layout.Protocol, transport.Length);
        return Sum(transport, Sum(pseudo)) == 0xFFFF;
    }

    /// <summary>True when the IPv4 header checksum of <paramref name="frame"/> verifies.</summary>
    public static bool Ipv4HeaderChecksumVerifies(byte[] frame, TestFrame layout) =>
        Sum(frame.AsSpan(layout.L3Offset, layout.L4Offset - layout.L3Offset)) == 0xFFFF;
}
