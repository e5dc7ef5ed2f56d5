using System.Buffers.Binary;
using UserBridge.Core.Frames;

namespace UserBridge.Core.Offload;

/// <summary>
/// Turns a frame that arrived behind a virtio-net header into the wire frames a port without offloads can
/// send: checksums finished, 64 KiB GSO frames cut into segments.
/// </summary>
/// <remarks>
/// <para>
/// <b>What the kernel hands us.</b> A TAP with <c>IFF_VNET_HDR</c> and <c>TUNSETOFFLOAD</c>, or an AF_PACKET
/// socket with <c>PACKET_VNET_HDR</c> on a QEMU <c>vnet_hdr=on</c> TAP, delivers each frame behind a
/// <see cref="VirtioNetHeader"/> that lists the work the sender (a guest, or the host stack) skipped because
/// it trusted "the NIC" to do it. Two kinds of work:
/// </para>
/// <list type="bullet">
/// <item><c>NEEDS_CSUM</c> (CHECKSUM_PARTIAL): the TCP/UDP checksum field holds only the pseudo-header sum;
/// <c>csum_start</c> says where the summed region begins (counted from the Ethernet header) and
/// <c>csum_offset</c> where the field sits in it.</item>
/// <item><c>gso_type</c> TCPv4, TCPv6 or UDP_L4 (GSO): one "super-frame" of up to 64 KiB: the headers of a
/// single packet followed by the payload of many. <c>gso_size</c> is the payload per segment (the MSS).
/// The super-frame's own IPv4 total length, IPv6 payload length and UDP length cannot describe the segments
/// and need not even be right, and <c>hdr_len</c> from a guest is a hint (the virtio spec makes it exact only
/// with VIRTIO_NET_F_GUEST_HDRLEN): the header length is read from the headers themselves and the payload
/// length from the frame length, as the kernel's <c>skb_gso_segment</c> does.</item>
/// </list>
/// <para>
/// <b>What we must produce</b> is what <c>skb_gso_segment</c> followed by <c>skb_checksum_help</c> would have
/// put on a wire: frames of the original headers plus at most <c>gso_size</c> payload bytes, each a correct
/// packet on its own: IPv4 total length, a fresh IPv4 header checksum and an IP ID advanced by one per
/// segment; IPv6 payload length; the TCP sequence number advanced by the payload already sent, FIN and PSH
/// left only on the last segment and CWR only on the first (the ECN GSO bit announces that CWR); the UDP
/// length of each datagram; and a complete TCP/UDP checksum over the segment's own pseudo-header. Skipping
/// this is the classic "ping works, TCP doesn't" bug: the receiver drops every frame with a bad checksum
/// and every frame larger than its MTU, silently.
/// </para>
/// <para>
/// <b>What we refuse</b> (return -1 for the caller to drop and count): anything malformed or beyond what we
/// segment: <c>gso_size</c> 0, a header or checksum field outside the frame, a <c>csum_start</c> that is
/// not the transport header of a GSO frame (also the symptom of a port that put back a stripped VLAN tag
/// without adding 4 to it), more than two VLAN tags, neither IPv4 nor IPv6, an IPv4 fragment, IPv6
/// extension headers other than hop-by-hop and destination options (a routing header changes the
/// pseudo-header's destination; a fragment cannot be segmented), a transport protocol that does not match
/// the GSO type, and a segment whose lengths would not fit their 16-bit fields. UFO (<c>GsoUdp</c>) is not
/// supported: it asks for one UDP datagram cut into IP fragments (the UDP header in the first only, one IP ID
/// for all), which Linux stopped producing in 4.14 and still accepts from tuntap and packet sockets only for
/// the sake of older guests; current guests use USO.
/// </para>
/// <para>
/// <b>Bounded work.</b> One frame must never cost more than a bounded number of segments, or a single hostile frame
/// (60 KB with <c>gso_size</c> 1: 60,001 segments) keeps a worker busy for seconds and everyone behind it waits.
/// The kernel trusts its own stack's MSS; from a guest or a packet socket it validates the header
/// (<c>virtio_net_hdr_to_skb</c>) but has no minimum <c>gso_size</c>. We refuse what the kernel refuses (a
/// <c>gso_size</c> of 0 or <c>GSO_BY_FRAGS</c>, a TCP checksum field that is not TCP's, USO without a partial checksum
/// or with more than <see cref="MaxUdpSegments"/> datagrams) and a <c>gso_size</c> below <see cref="MinGsoSize"/>, the
/// smallest MSS Linux's TCP ever sends (<c>TCP_MIN_SND_MSS</c>, the floor added for CVE-2019-11478). That bounds a
/// frame to <see cref="MaxSegments"/> segments, far below the kernel's <c>GSO_MAX_SEGS</c> (65,535).
/// <see cref="Admits"/> applies these checks at ingress, so that such a frame is dropped before it reaches any port.
/// A segment longer than the egress port takes (its MTU) is refused too, as the Linux bridge's
/// <c>is_skb_forwardable</c> refuses it.
/// </para>
/// <para>
/// <b>Contract.</b> No allocation and no exception per frame; one instance per worker thread (the scratch
/// buffer is not shared); each frame passed to <see cref="IFrameSink.Emit"/> lives in that scratch buffer
/// and is overwritten by the next one.
/// </para>
/// </remarks>
public sealed partial class GsoSegmenter
{
    /// <summary>
    /// The longest frame we ever build: two VLAN tags, an IPv6 header and the largest IPv6 payload (65535
    /// bytes, extension and transport headers included), which is also more than any IPv4 packet.
    /// </summary>
    public const int MaxSegmentLength = MaxL2HeaderLength + Ipv6HeaderLength + ushort.MaxValue;

    /// <summary>
    /// The smallest <c>gso_size</c> taken: Linux's <c>TCP_MIN_SND_MSS</c>. No real sender cuts its segments smaller;
    /// a frame that asks for less is an attempt to multiply the work one frame causes.
    /// </summary>
    public const int MinGsoSize = 48;

    /// <summary>The most datagrams one USO frame may hold: the kernel's <c>UDP_MAX_SEGMENTS</c>.</summary>
    public const int MaxUdpSegments = 128;

    /// <summary>The most segments any frame becomes: the largest IP payload cut at <see cref="MinGsoSize"/>.</summary>
    public const int MaxSegments = (ushort.MaxValue + MinGsoSize - 1) / MinGsoSize;

    /// <summary><c>GSO_BY_FRAGS</c>: a kernel-internal <c>gso_size</c> that <c>virtio_net_hdr_to_skb</c> refuses.</summary>
    private const ushort GsoByFrags = 0xFFFF;

    private const int MaxVlanTags = 2;
    private const int MaxL2HeaderLength = EthernetFrame.HeaderLength + (MaxVlanTags * EthernetFrame.VlanTagLength);
    private const int EtherTypeOffset = 12;
    private const ushort EtherTypeIpv4 = 0x0800;
    private const ushort EtherTypeIpv6 = 0x86DD;

    private const int Ipv4MinHeaderLength = 20;
    private const int Ipv4TotalLengthOffset = 2;
    private const int Ipv4IdOffset = 4;
    private const int Ipv4FragmentOffset = 6;
    private const ushort Ipv4MoreFragmentsAndOffsetMask = 0x3FFF;
    private const int Ipv4ProtocolOffset = 9;
    private const int Ipv4ChecksumOffset = 10;
    private const int Ipv4SourceOffset = 12;
    private const int Ipv4DestinationOffset = 16;

    private const int Ipv6HeaderLength = 40;
    private const int Ipv6PayloadLengthOffset = 4;
    private const int Ipv6NextHeaderOffset = 6;
    private const int Ipv6SourceOffset = 8;
    private const int Ipv6DestinationOffset = 24;
    private const byte Ipv6HopByHop = 0;
    private const byte Ipv6DestinationOptions = 60;
    private const int Ipv6ExtensionUnitLength = 8;

    private const int TcpMinHeaderLength = 20;
    private const int TcpSequenceOffset = 4;
    private const int TcpDataOffsetOffset = 12;
    private const int TcpFlagsOffset = 13;
    private const int TcpChecksumOffset = 16;
    private const byte TcpFin = 0x01;
    private const byte TcpPsh = 0x08;
    private const byte TcpCwr = 0x80;

    private const int UdpHeaderLength = 8;
    private const int UdpLengthOffset = 4;
    private const int UdpChecksumOffset = 6;

    private readonly byte[] _scratch;

    /// <summary>A segmenter with a scratch buffer of its own.</summary>
    public GsoSegmenter()
        : this(GC.AllocateArray<byte>(MaxSegmentLength, pinned: true))
    {
    }

    /// <summary>A segmenter working in <paramref name="scratch"/> (at least <see cref="MaxSegmentLength"/> bytes), which its owner lends it.</summary>
    internal GsoSegmenter(byte[] scratch)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(scratch.Length, MaxSegmentLength);
        _scratch = scratch;
    }

    /// <summary>The scratch buffer, for the owner that lent it to take back.</summary>
    internal byte[] Scratch => _scratch;

    /// <summary>
    /// Whether a frame's GSO fields are within what the switch takes from anyone (see the remarks): checked at ingress,
    /// before the frame goes anywhere. Field checks only, no parsing: cheap enough for every offloaded frame. A frame
    /// without GSO is always admitted here.
    /// </summary>
    public static bool Admits(in VirtioNetHeader header, int frameLength)
    {
        if (!header.IsGso)
        {
            return true;
        }

        var gsoSize = header.GsoSize;
        if (gsoSize is < MinGsoSize or GsoByFrags)
        {
            return false;
        }

        switch (header.GsoKind)
        {
            case VirtioNetHeader.GsoTcpV4 or VirtioNetHeader.GsoTcpV6:
                return !header.NeedsChecksum || header.ChecksumOffset == TcpChecksumOffset;
            case VirtioNetHeader.GsoUdpL4:
                var payloadLength = frameLength - header.ChecksumStart - UdpHeaderLength;
                return header.NeedsChecksum && header.ChecksumOffset == UdpChecksumOffset && payloadLength <= gsoSize * MaxUdpSegments;
            default:
                return true;
        }
    }

    /// <summary>
    /// Emits <paramref name="frame"/> as wire frames into <paramref name="sink"/>: unchanged when there is
    /// nothing to do, with its checksum finished, or cut into segments.
    /// </summary>
    /// <returns>The number of frames emitted, or -1 (nothing emitted) for a malformed or unsupported frame.</returns>
    public int Process<TSink>(ReadOnlySpan<byte> frame, in VirtioNetHeader header, ref TSink sink)
        where TSink : struct, IFrameSink => Process(frame, header, MaxSegmentLength, ref sink);

    /// <summary>
    /// Like <see cref="Process{TSink}(ReadOnlySpan{byte}, in VirtioNetHeader, ref TSink)"/>, for a port that takes frames
    /// of at most <paramref name="maxSegmentLength"/> bytes (Ethernet header and tags included): a GSO frame whose
    /// segments would be longer is refused (-1), nothing emitted.
    /// </summary>
    public int Process<TSink>(ReadOnlySpan<byte> frame, in VirtioNetHeader header, int maxSegmentLength, ref TSink sink)
        where TSink : struct, IFrameSink
    {
        // tun rejects the same (hdr_len > len is -EINVAL in tun_get_user).
        if (header.HeaderLength > frame.Length)
        {
            return -1;
        }

        if (header.IsGso)
        {
            return Segment(frame, in header, Math.Min(maxSegmentLength, _scratch.Length), ref sink);
        }

        if (!header.NeedsChecksum)
        {
            sink.Emit(frame);
            return 1;
        }

        // The input may be a receive buffer we must not write (or one a capture still reads): finish the
        // checksum on a copy.
        if (frame.Length > _scratch.Length)
        {
            return -1;
        }

        var copy = _scratch.AsSpan(0, frame.Length);
        frame.CopyTo(copy);
        if (!InternetChecksum.CompletePartial(copy, header.ChecksumStart, header.ChecksumOffset))
        {
            return -1;
        }

        sink.Emit(copy);
        return 1;
    }

    /// <summary>
    /// The length of the longest segment <paramref name="frame"/> would be cut into, or -1 when it is not a GSO frame the
    /// segmenter could cut: how a port that takes GSO frames whole checks them against its MTU.
    /// </summary>
    public static int LongestSegment(ReadOnlySpan<byte> frame, in VirtioNetHeader header) =>
        header.IsGso && Admits(header, frame.Length) && TryReadHeaders(frame, header, out var headers)
            ? headers.HeaderLength + Math.Min(header.GsoSize, frame.Length - headers.HeaderLength)
            : -1;

    private int Segment<TSink>(ReadOnlySpan<byte> frame, in VirtioNetHeader header, int maxSegmentLength, ref TSink sink)
        where TSink : struct, IFrameSink
    {
        if (!Admits(header, frame.Length) || !TryReadHeaders(frame, header, out var headers))
        {
            return -1;
        }

        var headerLength = headers.HeaderLength;
        var longestSegment = headerLength + Math.Min(header.GsoSize, frame.Length - headerLength);
        var lengthFieldStart = headers.IsIpv4 ? headers.L3Offset : headers.L3Offset + Ipv6HeaderLength;
        if (longestSegment > maxSegmentLength || longestSegment - lengthFieldStart > ushort.MaxValue)
        {
            return -1;
        }

        // The headers are copied once; each segment then rewrites only the fields that differ, and its
        // payload lands right behind them.
        var scratch = _scratch.AsSpan();
        frame[..headerLength].CopyTo(scratch);
        var l4 = scratch[headers.L4Offset..];
        var originalId = headers.IsIpv4 ? BinaryPrimitives.ReadUInt16BigEndian(scratch[(headers.L3Offset + Ipv4IdOffset)..]) : (ushort)0;
        var sequence = headers.IsTcp ? BinaryPrimitives.ReadUInt32BigEndian(l4[TcpSequenceOffset..]) : 0;
        var originalFlags = headers.IsTcp ? l4[TcpFlagsOffset] : (byte)0;
        var checksumFieldOffset = headers.IsTcp ? TcpChecksumOffset : UdpChecksumOffset;

        var payloadOffset = headerLength;
        var count = 0;
        do
        {
            var segmentPayloadLength = Math.Min(header.GsoSize, frame.Length - payloadOffset);
            var segmentLength = headerLength + segmentPayloadLength;
            var segment = scratch[..segmentLength];
            frame.Slice(payloadOffset, segmentPayloadLength).CopyTo(segment[headerLength..]);
            var pseudoHeaderSum = WriteIpHeader(segment, headers, (ushort)(originalId + count));

            if (headers.IsTcp)
            {
                WriteTcpFields(l4, sequence, originalFlags, first: count == 0, last: payloadOffset + segmentPayloadLength >= frame.Length);
                sequence += (uint)segmentPayloadLength;
            }
            else
            {
                BinaryPrimitives.WriteUInt16BigEndian(l4[UdpLengthOffset..], (ushort)(segmentLength - headers.L4Offset));
            }

            BinaryPrimitives.WriteUInt16BigEndian(l4[checksumFieldOffset..], 0);
            var transportChecksum = InternetChecksum.ComputeTransport(segment[headers.L4Offset..], pseudoHeaderSum);
            BinaryPrimitives.WriteUInt16BigEndian(l4[checksumFieldOffset..], transportChecksum);

            sink.Emit(segment);
            count++;
            payloadOffset += segmentPayloadLength;
        }
        while (payloadOffset < frame.Length);

        return count;
    }

    /// <summary>
    /// A segment's TCP sequence number and flags: FIN and PSH only on the last segment, CWR only on the first (the ECN
    /// GSO bit announces that CWR).
    /// </summary>
    private static void WriteTcpFields(Span<byte> tcp, uint sequence, byte originalFlags, bool first, bool last)
    {
        BinaryPrimitives.WriteUInt32BigEndian(tcp[TcpSequenceOffset..], sequence);
        var flags = originalFlags;
        if (!last)
        {
            flags &= unchecked((byte)~(TcpFin | TcpPsh));
        }

        if (!first)
        {
            flags &= unchecked((byte)~TcpCwr);
        }

        tcp[TcpFlagsOffset] = flags;
    }

    /// <summary>
    /// Writes the IP length fields of <paramref name="segment"/> (and for IPv4 its ID and header checksum) and
    /// returns the sum of its transport pseudo-header.
    /// </summary>
    private static ushort WriteIpHeader(Span<byte> segment, in Headers headers, ushort ipId)
    {
        var l3 = segment[headers.L3Offset..];
        var transportLength = segment.Length - headers.L4Offset;
        if (!headers.IsIpv4)
        {
            BinaryPrimitives.WriteUInt16BigEndian(l3[Ipv6PayloadLengthOffset..], (ushort)(l3.Length - Ipv6HeaderLength));
            return InternetChecksum.PseudoHeaderSumIpv6(l3[Ipv6SourceOffset..], l3[Ipv6DestinationOffset..], headers.Protocol, transportLength);
        }

        BinaryPrimitives.WriteUInt16BigEndian(l3[Ipv4TotalLengthOffset..], (ushort)l3.Length);
        BinaryPrimitives.WriteUInt16BigEndian(l3[Ipv4IdOffset..], ipId);
        BinaryPrimitives.WriteUInt16BigEndian(l3[Ipv4ChecksumOffset..], 0);
        var ipChecksum = InternetChecksum.Compute(l3[..(headers.L4Offset - headers.L3Offset)]);
        BinaryPrimitives.WriteUInt16BigEndian(l3[Ipv4ChecksumOffset..], ipChecksum);
        return InternetChecksum.PseudoHeaderSumIpv4(l3[Ipv4SourceOffset..], l3[Ipv4DestinationOffset..], headers.Protocol, transportLength);
    }
}
