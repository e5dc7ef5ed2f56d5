using System.Buffers.Binary;
using UserBridge.Core.Frames;

namespace UserBridge.Core.Tests.Offload;

/// <summary>
/// Builds TCP and UDP frames over IPv4 and IPv6 byte by byte, as a sender with checksum offload would hand
/// them over: the IPv4 header checksum complete, the transport checksum field holding only the pseudo-header
/// sum (CHECKSUM_PARTIAL), computed with the naive reference.
/// </summary>
internal static class TestFrames
{
    public const byte ProtocolTcp = 6;
    public const byte ProtocolUdp = 17;
    public const byte TcpFin = 0x01;
    public const byte TcpPsh = 0x08;
    public const byte TcpAck = 0x10;
    public const byte TcpEce = 0x40;
    public const byte TcpCwr = 0x80;

    /// <summary>Close to 2^32, so that a 64 KiB frame's segments wrap the sequence space.</summary>
    public const uint DefaultSequence = 0xFFFF_8000;

    /// <summary>Close to 2^16, so that the segments' IP IDs wrap.</summary>
    public const ushort DefaultIpId = 0xFFF0;

    public const int TimestampOptionLength = 12;

    private const byte Ipv6DestinationOptions = 60;

    public static TestFrame Tcp(
        bool ipv6,
        int payloadLength,
        int vlanTags = 0,
        int ipv4OptionsLength = 0,
        int ipv6DestinationOptionsLength = 0,
        byte tcpFlags = TcpAck | TcpPsh,
        uint sequence = DefaultSequence) =>
        Build(ipv6, ProtocolTcp, payloadLength, vlanTags, ipv4OptionsLength, ipv6DestinationOptionsLength, tcpFlags, sequence);

    public static TestFrame Udp(bool ipv6, int payloadLength, int vlanTags = 0) =>
        Build(ipv6, ProtocolUdp, payloadLength, vlanTags, 0, 0, 0, 0);

    /// <summary>The payload pattern: pseudo-random, so a misplaced or mis-summed byte shows.</summary>
    public static byte[] Payload(int length, int seed)
    {
        var payload = new byte[length];
        new Random(seed).NextBytes(payload);
        return payload;
    }

    private static TestFrame Build(
        bool ipv6,
        byte protocol,
        int payloadLength,
        int vlanTags,
        int ipv4OptionsLength,
        int ipv6DestinationOptionsLength,
        byte tcpFlags,
        uint sequence)
    {
        var l3Offset = 14 + (4 * vlanTags);
        var l3HeaderLength = ipv6 ? 40 + ipv6DestinationOptionsLength : 20 + ipv4OptionsLength;
        var l4Offset = l3Offset + l3HeaderLength;
        var l4HeaderLength = protocol == ProtocolTcp ? 20 + TimestampOptionLength : 8;
        var payloadOffset = l4Offset + l4HeaderLength;
        var frame = new byte[payloadOffset + payloadLength];

        WriteEthernet(frame, vlanTags, ipv6 ? (ushort)0x86DD : (ushort)0x0800);
        var l3 = frame.AsSpan(l3Offset);
        var transportLength = frame.Length - l4Offset;
        if (ipv6)
        {
            WriteIpv6(l3, protocol, frame.Length - l3Offset - 40, ipv6DestinationOptionsLength);
        }
        else
        {
            WriteIpv4(l3, protocol, frame.Length - l3Offset, ipv4OptionsLength);
        }

        var l4 = frame.AsSpan(l4Offset);
        if (protocol == ProtocolTcp)
        {
            WriteTcp(l4, tcpFlags, sequence);
        }
        else
        {
            BinaryPrimitives.WriteUInt16BigEndian(l4, 5353);
            BinaryPrimitives.WriteUInt16BigEndian(l4[2..], 4789);
            BinaryPrimitives.WriteUInt16BigEndian(l4[4..], (ushort)transportLength);
        }

        Payload(payloadLength, payloadLength).CopyTo(frame.AsSpan(payloadOffset));
        var pseudo = ipv6
            ? NaiveChecksum.Ipv6PseudoHeader(l3, protocol, transportLength)
            : NaiveChecksum.Ipv4PseudoHeader(l3, protocol, transportLength);
        var layout = new TestFrame(frame, l3Offset, l4Offset, payloadOffset, ipv6, protocol);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(l4Offset + layout.ChecksumOffset), NaiveChecksum.Sum(pseudo));
        return layout;
    }

    /// <summary>Addresses, then a QinQ outer tag and an 802.1Q inner tag as a provider network stacks them.</summary>
    private static void WriteEthernet(Span<byte> frame, int vlanTags, ushort etherType)
    {
        new MacAddress(0x0200_0000_0002).Write(frame);
        new MacAddress(0x0200_0000_0001).Write(frame[6..]);
        var offset = 12;
        for (var tag = 0; tag < vlanTags; tag++)
        {
            var tpid = tag == 0 && vlanTags == 2 ? EthernetFrame.EtherTypeQinQ : EthernetFrame.EtherTypeVlan;
            BinaryPrimitives.WriteUInt16BigEndian(frame[offset..], tpid);
            BinaryPrimitives.WriteUInt16BigEndian(frame[(offset + 2)..], (ushort)(100 + tag));
            offset += 4;
        }

        BinaryPrimitives.WriteUInt16BigEndian(frame[offset..], etherType);
    }

    private static void WriteIpv4(Span<byte> ip, byte protocol, int totalLength, int optionsLength)
    {
        var headerLength = 20 + optionsLength;
        ip[0] = (byte)(0x40 | (headerLength / 4));
        BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)totalLength);
        BinaryPrimitives.WriteUInt16BigEndian(ip[4..], DefaultIpId);
        ip[6] = 0x40;
        ip[8] = 64;
        ip[9] = protocol;
        Put(ip[12..], [192, 0, 2, 1]);
        Put(ip[16..], [198, 51, 100, 7]);

        // NOPs, then an end-of-options: options the segmenter must copy without understanding them.
        ip[20..headerLength].Fill(1);
        if (optionsLength > 0)
        {
            ip[headerLength - 1] = 0;
        }

        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], (ushort)~NaiveChecksum.Sum(ip[..headerLength]));
    }

    private static void WriteIpv6(Span<byte> ip, byte protocol, int payloadLength, int destinationOptionsLength)
    {
        ip[0] = 0x60;
        ip[1] = 0x0A;
        ip[2] = 0xBC;
        ip[3] = 0xDE;
        BinaryPrimitives.WriteUInt16BigEndian(ip[4..], (ushort)payloadLength);
        ip[6] = destinationOptionsLength > 0 ? Ipv6DestinationOptions : protocol;
        ip[7] = 64;
        Put(ip[8..], [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        Put(ip[24..], [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0xca, 0xfe, 0, 2]);
        if (destinationOptionsLength > 0)
        {
            // One PadN option filling the header: legal, and meaningless to a forwarder.
            var options = ip[40..];
            options[0] = protocol;
            options[1] = (byte)((destinationOptionsLength / 8) - 1);
            options[2] = 1;
            options[3] = (byte)(destinationOptionsLength - 4);
        }
    }

    private static void Put(Span<byte> destination, ReadOnlySpan<byte> bytes) => bytes.CopyTo(destination);

    private static void WriteTcp(Span<byte> tcp, byte flags, uint sequence)
    {
        BinaryPrimitives.WriteUInt16BigEndian(tcp, 40000);
        BinaryPrimitives.WriteUInt16BigEndian(tcp[2..], 5201);
        BinaryPrimitives.WriteUInt32BigEndian(tcp[4..], sequence);
        BinaryPrimitives.WriteUInt32BigEndian(tcp[8..], 0x0102_0304);
        tcp[12] = (byte)(((20 + TimestampOptionLength) / 4) << 4);
        tcp[13] = flags;
        BinaryPrimitives.WriteUInt16BigEndian(tcp[14..], 502);

        // NOP, NOP, timestamps: what every Linux segment carries, repeated unchanged in each segment.
        Put(tcp[20..], [1, 1, 8, 10, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88]);
    }
}
