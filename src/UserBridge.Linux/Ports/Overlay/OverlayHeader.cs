using System.Buffers.Binary;
using UserBridge.Core.Frames;

namespace UserBridge.Linux.Ports.Overlay;

/// <summary>The overlay encapsulations a tunnel port speaks.</summary>
public enum OverlayProtocol
{
    /// <summary>VXLAN (RFC 7348): an 8-byte header over UDP 4789.</summary>
    Vxlan,

    /// <summary>Geneve (RFC 8926): an 8-byte header and variable-length options over UDP 6081.</summary>
    Geneve,
}

/// <summary>What the payload of an overlay UDP datagram holds.</summary>
public enum OverlayStatus
{
    /// <summary>An Ethernet frame of a VNI, at the offset returned.</summary>
    Frame,

    /// <summary>Shorter than the header (with its options) and an Ethernet header.</summary>
    TooShort,

    /// <summary>VXLAN without the I flag: the VNI is not valid.</summary>
    BadFlags,

    /// <summary>A Geneve version other than 0.</summary>
    BadVersion,

    /// <summary>A Geneve protocol type other than Transparent Ethernet Bridging (0x6558): not an Ethernet frame.</summary>
    NotEthernet,

    /// <summary>A Geneve control packet (O bit): for the tunnel endpoint, never forwarded.</summary>
    Control,

    /// <summary>A Geneve option whose length runs past the options the header announces.</summary>
    BadOptionLength,

    /// <summary>A Geneve critical option (C bit or an option type with its high bit): one that the switch does not process, so the packet must be dropped.</summary>
    CriticalOption,
}

/// <summary>
/// VXLAN and Geneve headers: reading the one in front of an encapsulated frame and writing the one the switch sends.
/// Pure (no I/O), so that every malformed case is tested and fuzzed apart from the socket. No allocation, no exception.
/// </summary>
/// <remarks>
/// Receiving follows the RFCs: VXLAN's reserved bits are ignored (RFC 7348 §5), only a missing I flag makes a packet
/// invalid; Geneve options are walked and skipped, and a packet is dropped if it is a control packet or carries a
/// critical option (RFC 8926 §3.4: an endpoint that does not process a critical option MUST drop the packet). The
/// switch sends Geneve without options.
/// </remarks>
public static class OverlayHeader
{
    public const ushort VxlanPort = 4789;
    public const ushort GenevePort = 6081;

    /// <summary>The header the switch writes, for either protocol (Geneve without options).</summary>
    public const int Length = 8;

    /// <summary>The largest VNI (24 bits).</summary>
    public const uint MaxVni = 0xFF_FFFF;

    private const int UdpHeaderLength = 8;
    private const int Ipv4HeaderLength = 20;
    private const int Ipv6HeaderLength = 40;
    private const byte VxlanFlagI = 0x08;
    private const int GeneveVersionShift = 6;
    private const byte GeneveOptionLengthMask = 0x3F;
    private const byte GeneveControl = 0x80;
    private const byte GeneveCritical = 0x40;
    private const ushort TransparentEthernetBridging = 0x6558;
    private const int GeneveOptionHeaderLength = 4;
    private const byte GeneveOptionTypeCritical = 0x80;
    private const byte GeneveOptionLengthBits = 0x1F;

    /// <summary>
    /// What encapsulation adds to an Ethernet frame on the underlay, counted against the underlay's MTU (which counts
    /// from the IP header): the outer IP and UDP headers, the overlay header and the inner Ethernet header. 50 bytes
    /// over IPv4, 70 over IPv6.
    /// </summary>
    public static int Overhead(bool ipv6) => (ipv6 ? Ipv6HeaderLength : Ipv4HeaderLength) + UdpHeaderLength + Length + EthernetFrame.HeaderLength;

    /// <summary>The UDP port a protocol uses by default.</summary>
    public static ushort DefaultPort(OverlayProtocol protocol) => protocol == OverlayProtocol.Geneve ? GenevePort : VxlanPort;

    /// <summary>
    /// Reads the header at the start of <paramref name="payload"/> (a UDP payload). On <see cref="OverlayStatus.Frame"/>,
    /// <paramref name="vni"/> is the frame's VNI and <paramref name="frameOffset"/> where its Ethernet header starts;
    /// the frame is at least an Ethernet header long.
    /// </summary>
    public static OverlayStatus Read(OverlayProtocol protocol, ReadOnlySpan<byte> payload, out uint vni, out int frameOffset)
    {
        vni = 0;
        frameOffset = 0;
        if (payload.Length < Length + EthernetFrame.HeaderLength)
        {
            return OverlayStatus.TooShort;
        }

        return protocol == OverlayProtocol.Geneve ? ReadGeneve(payload, out vni, out frameOffset) : ReadVxlan(payload, out vni, out frameOffset);
    }

    /// <summary>Writes the <see cref="Length"/>-byte header for <paramref name="vni"/> at the start of <paramref name="header"/>.</summary>
    public static void Write(OverlayProtocol protocol, Span<byte> header, uint vni)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(vni, MaxVni);
        if (protocol == OverlayProtocol.Geneve)
        {
            // Version 0, no options, neither control nor critical; Transparent Ethernet Bridging.
            header[0] = 0;
            header[1] = 0;
            BinaryPrimitives.WriteUInt16BigEndian(header[2..], TransparentEthernetBridging);
        }
        else
        {
            BinaryPrimitives.WriteUInt32BigEndian(header, (uint)VxlanFlagI << 24);
        }

        // VNI in the high 24 bits, the reserved byte zero: the same place in both headers.
        BinaryPrimitives.WriteUInt32BigEndian(header[4..], vni << 8);
    }

    private static OverlayStatus ReadVxlan(ReadOnlySpan<byte> payload, out uint vni, out int frameOffset)
    {
        vni = BinaryPrimitives.ReadUInt32BigEndian(payload[4..]) >> 8;
        frameOffset = Length;
        return (payload[0] & VxlanFlagI) == 0 ? OverlayStatus.BadFlags : OverlayStatus.Frame;
    }

    private static OverlayStatus ReadGeneve(ReadOnlySpan<byte> payload, out uint vni, out int frameOffset)
    {
        vni = BinaryPrimitives.ReadUInt32BigEndian(payload[4..]) >> 8;
        frameOffset = 0;
        if (payload[0] >> GeneveVersionShift != 0)
        {
            return OverlayStatus.BadVersion;
        }

        if ((payload[1] & GeneveControl) != 0)
        {
            return OverlayStatus.Control;
        }

        if (BinaryPrimitives.ReadUInt16BigEndian(payload[2..]) != TransparentEthernetBridging)
        {
            return OverlayStatus.NotEthernet;
        }

        if ((payload[1] & GeneveCritical) != 0)
        {
            return OverlayStatus.CriticalOption;
        }

        var optionsLength = (payload[0] & GeneveOptionLengthMask) * 4;
        if (payload.Length < Length + optionsLength + EthernetFrame.HeaderLength)
        {
            return OverlayStatus.TooShort;
        }

        var options = OptionsStatus(payload.Slice(Length, optionsLength));
        frameOffset = options == OverlayStatus.Frame ? Length + optionsLength : 0;
        return options;
    }

    /// <summary>
    /// Walks the options: each must fit in the announced length, and none may be critical. Both lengths count 4-byte
    /// words, so whatever remains always holds at least an option header.
    /// </summary>
    private static OverlayStatus OptionsStatus(ReadOnlySpan<byte> options)
    {
        var offset = 0;
        while (offset < options.Length)
        {
            var length = GeneveOptionHeaderLength + ((options[offset + 3] & GeneveOptionLengthBits) * 4);
            if (length > options.Length - offset)
            {
                return OverlayStatus.BadOptionLength;
            }

            if ((options[offset + 2] & GeneveOptionTypeCritical) != 0)
            {
                return OverlayStatus.CriticalOption;
            }

            offset += length;
        }

        return OverlayStatus.Frame;
    }
}
