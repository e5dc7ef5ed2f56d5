using System.Buffers.Binary;
using UserBridge.Core.Frames;

namespace UserBridge.Core.Offload;

/// <summary>Finding a GSO frame's headers: VLAN tags, IPv4 (options, fragments), IPv6 (extension headers), TCP or UDP.</summary>
public sealed partial class GsoSegmenter
{
    /// <summary>Finds and checks the headers of a GSO frame against its virtio-net header, once <see cref="Admits"/> has taken its fields.</summary>
    private static bool TryReadHeaders(ReadOnlySpan<byte> frame, in VirtioNetHeader header, out Headers headers)
    {
        headers = default;
        var kind = header.GsoKind;
        var isTcp = kind is VirtioNetHeader.GsoTcpV4 or VirtioNetHeader.GsoTcpV6;
        if (!(isTcp || kind == VirtioNetHeader.GsoUdpL4) || !TryFindL3(frame, out var l3Offset, out var etherType))
        {
            return false;
        }

        var isIpv4 = etherType == EtherTypeIpv4;
        if ((kind == VirtioNetHeader.GsoTcpV4 && !isIpv4) || (kind == VirtioNetHeader.GsoTcpV6 && isIpv4))
        {
            return false;
        }

        var l4Offset = isIpv4 ? Ipv4TransportOffset(frame, l3Offset, out var protocol) : Ipv6TransportOffset(frame, l3Offset, out protocol);
        if (l4Offset < 0 || protocol != (isTcp ? InternetChecksum.ProtocolTcp : InternetChecksum.ProtocolUdp))
        {
            return false;
        }

        var l4HeaderLength = isTcp ? TcpHeaderLength(frame, l4Offset) : UdpHeaderLength;
        if (l4HeaderLength < 0 || l4Offset + l4HeaderLength > frame.Length)
        {
            return false;
        }

        // The kernel refuses the same (virtio_net_hdr_to_skb and tcp/udp_gso_segment, since the 2024 fixes
        // "drop bad gso csum_start and offset" and "more strict VIRTIO_NET_HDR_GSO_UDP_L4 validation"): a
        // partial checksum that is not the transport header's means the sender and we disagree about where
        // that header is. (Its offset, and USO's NEEDS_CSUM, Admits checked.)
        if (header.NeedsChecksum && header.ChecksumStart != l4Offset)
        {
            return false;
        }

        headers = new Headers(l3Offset, l4Offset, l4Offset + l4HeaderLength, isIpv4, isTcp, protocol);
        return true;
    }

    /// <summary>Skips up to two VLAN tags (802.1Q or 802.1ad, in any order) to the L3 header.</summary>
    private static bool TryFindL3(ReadOnlySpan<byte> frame, out int l3Offset, out ushort etherType)
    {
        var offset = EtherTypeOffset;
        for (var tags = 0; tags <= MaxVlanTags && frame.Length >= offset + sizeof(ushort); tags++)
        {
            var type = BinaryPrimitives.ReadUInt16BigEndian(frame[offset..]);
            if (type is not (EthernetFrame.EtherTypeVlan or EthernetFrame.EtherTypeQinQ))
            {
                l3Offset = offset + sizeof(ushort);
                etherType = type;
                return type is EtherTypeIpv4 or EtherTypeIpv6;
            }

            offset += EthernetFrame.VlanTagLength;
        }

        l3Offset = 0;
        etherType = 0;
        return false;
    }

    /// <summary>The offset of the transport header behind an IPv4 header (options included), or -1.</summary>
    private static int Ipv4TransportOffset(ReadOnlySpan<byte> frame, int l3Offset, out byte protocol)
    {
        protocol = 0;
        if (frame.Length < l3Offset + Ipv4MinHeaderLength)
        {
            return -1;
        }

        var ip = frame[l3Offset..];
        var ipHeaderLength = (ip[0] & 0x0F) * 4;
        if (ip[0] >> 4 != 4 || ipHeaderLength < Ipv4MinHeaderLength || ipHeaderLength > ip.Length)
        {
            return -1;
        }

        // A fragment (MF set or a non-zero offset) carries no complete transport header to repeat.
        if ((BinaryPrimitives.ReadUInt16BigEndian(ip[Ipv4FragmentOffset..]) & Ipv4MoreFragmentsAndOffsetMask) != 0)
        {
            return -1;
        }

        protocol = ip[Ipv4ProtocolOffset];
        return l3Offset + ipHeaderLength;
    }

    /// <summary>
    /// The offset of the transport header behind an IPv6 header and any hop-by-hop and destination options
    /// headers, or -1. Those two are copied into every segment unchanged, as the kernel does; other extension
    /// headers are refused.
    /// </summary>
    private static int Ipv6TransportOffset(ReadOnlySpan<byte> frame, int l3Offset, out byte protocol)
    {
        protocol = 0;
        if (frame.Length < l3Offset + Ipv6HeaderLength || frame[l3Offset] >> 4 != 6)
        {
            return -1;
        }

        var nextHeader = frame[l3Offset + Ipv6NextHeaderOffset];
        var offset = l3Offset + Ipv6HeaderLength;
        while (nextHeader is Ipv6HopByHop or Ipv6DestinationOptions)
        {
            if (frame.Length < offset + Ipv6ExtensionUnitLength)
            {
                return -1;
            }

            nextHeader = frame[offset];
            offset += (frame[offset + 1] + 1) * Ipv6ExtensionUnitLength;
        }

        protocol = nextHeader;
        return offset;
    }

    /// <summary>The TCP header length from its data offset (options included), or -1 when it cannot be read.</summary>
    private static int TcpHeaderLength(ReadOnlySpan<byte> frame, int l4Offset)
    {
        if (frame.Length < l4Offset + TcpMinHeaderLength)
        {
            return -1;
        }

        var length = (frame[l4Offset + TcpDataOffsetOffset] >> 4) * 4;
        return length < TcpMinHeaderLength ? -1 : length;
    }

    /// <summary>Where a GSO frame's headers are (offsets in bytes from the Ethernet header) and what they are.</summary>
    private readonly record struct Headers(int L3Offset, int L4Offset, int HeaderLength, bool IsIpv4, bool IsTcp, byte Protocol);
}
