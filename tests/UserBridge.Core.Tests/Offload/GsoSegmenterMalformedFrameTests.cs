using System.Buffers.Binary;
using UserBridge.Core.Offload;

namespace UserBridge.Core.Tests.Offload;

public sealed class GsoSegmenterMalformedFrameTests
{
    private const ushort Mss = 1448;

    public static TheoryData<MalformedFrame> AllCases => new(Enum.GetValues<MalformedFrame>());

    [Theory]
    [MemberData(nameof(AllCases))]
    public void RefusesAMalformedOrUnsupportedFrameWithoutEmittingAnything(MalformedFrame malformed)
    {
        var (frame, header) = Build(malformed);
        var sink = new CollectingSink();

        var count = new GsoSegmenter().Process(frame, header, ref sink);

        Assert.Equal(-1, count);
        Assert.Empty(sink.Frames);
    }

    [Fact]
    public void EveryMalformedCaseIsAMutationOfAFrameThatSegments()
    {
        foreach (var ipv6 in new[] { false, true })
        {
            foreach (var udp in new[] { false, true })
            {
                var frame = udp ? TestFrames.Udp(ipv6, 10 * Mss) : TestFrames.Tcp(ipv6, 10 * Mss);
                var sink = new CountingSink();

                Assert.Equal(10, new GsoSegmenter().Process(frame.Bytes, frame.GsoHeader(GsoType(ipv6, udp), Mss), ref sink));
            }
        }
    }

    private static byte GsoType(bool ipv6, bool udp) =>
        udp ? VirtioNetHeader.GsoUdpL4 : ipv6 ? VirtioNetHeader.GsoTcpV6 : VirtioNetHeader.GsoTcpV4;

    private static (byte[] Frame, VirtioNetHeader Header) Build(MalformedFrame malformed) =>
        HeaderCase(malformed) ?? FrameCase(malformed) ?? IpCase(malformed) ?? TransportCase(malformed)
        ?? throw new ArgumentOutOfRangeException(nameof(malformed), malformed, "no frame for this case");

    /// <summary>The virtio-net header is wrong or beyond what the segmenter does.</summary>
    private static (byte[] Frame, VirtioNetHeader Header)? HeaderCase(MalformedFrame malformed)
    {
        var tcp4 = TestFrames.Tcp(ipv6: false, 10 * Mss);
        var udp4 = TestFrames.Udp(ipv6: false, 10 * Mss);
        var gso4 = tcp4.GsoHeader(VirtioNetHeader.GsoTcpV4, Mss);
        var uso4 = udp4.GsoHeader(VirtioNetHeader.GsoUdpL4, Mss);
        switch (malformed)
        {
            case MalformedFrame.GsoSizeZero:
                return (tcp4.Bytes, gso4 with { GsoSize = 0 });
            case MalformedFrame.GsoSizeOneByte:
                return (tcp4.Bytes, gso4 with { GsoSize = 1 });
            case MalformedFrame.GsoSizeBelowTcpMinimum:
                return (tcp4.Bytes, gso4 with { GsoSize = GsoSegmenter.MinGsoSize - 1 });
            case MalformedFrame.GsoSizeByFrags:
                return (tcp4.Bytes, gso4 with { GsoSize = 0xFFFF });
            case MalformedFrame.UsoMoreDatagramsThanTheKernelTakes:
                // 10 * 1448 bytes of payload in datagrams of 100: 145, over UDP_MAX_SEGMENTS.
                return (udp4.Bytes, uso4 with { GsoSize = 100 });
            case MalformedFrame.HeaderLengthBeyondFrame:
                return (tcp4.Bytes[..100], gso4 with { HeaderLength = 101 });
            case MalformedFrame.ChecksumStartBeyondFrame:
                return (tcp4.Bytes[..100], tcp4.PartialChecksumHeader() with { HeaderLength = 0, ChecksumStart = 100, ChecksumOffset = 0 });
            case MalformedFrame.ChecksumFieldBeyondFrame:
                return (tcp4.Bytes[..(tcp4.L4Offset + 17)], tcp4.PartialChecksumHeader() with { HeaderLength = 0 });
            case MalformedFrame.ChecksumOffsetOdd:
                return (tcp4.Bytes, tcp4.PartialChecksumHeader() with { ChecksumOffset = 15 });
            case MalformedFrame.NonGsoFrameLongerThanAnyPacket:
                return (new byte[GsoSegmenter.MaxSegmentLength + 1], tcp4.PartialChecksumHeader());
            case MalformedFrame.GsoChecksumStartNotAtTransportHeader:
                return (tcp4.Bytes, gso4 with { ChecksumStart = (ushort)(tcp4.L4Offset + 4) });
            case MalformedFrame.GsoTcpChecksumOffsetNotTcps:
                return (tcp4.Bytes, gso4 with { ChecksumOffset = 6 });
            case MalformedFrame.UsoWithoutPartialChecksum:
                return (udp4.Bytes, uso4 with { Flags = 0 });
            case MalformedFrame.UfoUnsupported:
                return (udp4.Bytes, uso4 with { GsoType = VirtioNetHeader.GsoUdp });
            case MalformedFrame.UnknownGsoType:
                return (tcp4.Bytes, gso4 with { GsoType = 2 });
            case MalformedFrame.EcnBitWithoutGsoType:
                return (tcp4.Bytes, gso4 with { GsoType = VirtioNetHeader.GsoEcn });
            default:
                return null;
        }
    }

    /// <summary>The frame is too short, not IP, tagged wrong, or not the kind its GSO type says.</summary>
    private static (byte[] Frame, VirtioNetHeader Header)? FrameCase(MalformedFrame malformed)
    {
        var tcp4 = TestFrames.Tcp(ipv6: false, 10 * Mss);
        var tcp6 = TestFrames.Tcp(ipv6: true, 10 * Mss);
        var udp4 = TestFrames.Udp(ipv6: false, 10 * Mss);
        var gso4 = tcp4.GsoHeader(VirtioNetHeader.GsoTcpV4, Mss);
        var gso6 = tcp6.GsoHeader(VirtioNetHeader.GsoTcpV6, Mss);
        var uso4 = udp4.GsoHeader(VirtioNetHeader.GsoUdpL4, Mss);
        switch (malformed)
        {
            case MalformedFrame.FrameShorterThanEthernetHeader:
                return (tcp4.Bytes[..10], gso4 with { HeaderLength = 0 });
            case MalformedFrame.NotIp:
                BinaryPrimitives.WriteUInt16BigEndian(tcp4.Bytes.AsSpan(12), 0x0806);
                return (tcp4.Bytes, gso4);
            case MalformedFrame.ThreeVlanTags:
                var tagged = TestFrames.Tcp(ipv6: false, 10 * Mss, vlanTags: 3);
                return (tagged.Bytes, tagged.GsoHeader(VirtioNetHeader.GsoTcpV4, Mss));
            case MalformedFrame.VlanTagCutShort:
                var cut = TestFrames.Tcp(ipv6: false, 0, vlanTags: 2);
                return (cut.Bytes[..20], gso4 with { HeaderLength = 0 });
            case MalformedFrame.TcpV4GsoOnIpv6:
                return (tcp6.Bytes, gso6 with { GsoType = VirtioNetHeader.GsoTcpV4 });
            case MalformedFrame.TcpV6GsoOnIpv4:
                return (tcp4.Bytes, gso4 with { GsoType = VirtioNetHeader.GsoTcpV6 });
            case MalformedFrame.TcpGsoOnUdp:
                return (udp4.Bytes, uso4 with { GsoType = VirtioNetHeader.GsoTcpV4, ChecksumOffset = 16 });
            case MalformedFrame.UsoOnTcp:
                return (tcp4.Bytes, gso4 with { GsoType = VirtioNetHeader.GsoUdpL4, ChecksumOffset = 6 });
            default:
                return null;
        }
    }

    /// <summary>The IPv4 or IPv6 header is wrong or beyond what the segmenter does.</summary>
    private static (byte[] Frame, VirtioNetHeader Header)? IpCase(MalformedFrame malformed)
    {
        var tcp4 = TestFrames.Tcp(ipv6: false, 10 * Mss);
        var tcp6 = TestFrames.Tcp(ipv6: true, 10 * Mss);
        var gso4 = tcp4.GsoHeader(VirtioNetHeader.GsoTcpV4, Mss);
        var gso6 = tcp6.GsoHeader(VirtioNetHeader.GsoTcpV6, Mss);
        var ip4 = tcp4.L3Offset;
        var ip6 = tcp6.L3Offset;
        switch (malformed)
        {
            case MalformedFrame.Ipv4VersionWrong:
                tcp4.Bytes[ip4] = 0x65;
                return (tcp4.Bytes, gso4);
            case MalformedFrame.Ipv4HeaderLengthBelowTwentyBytes:
                tcp4.Bytes[ip4] = 0x44;
                return (tcp4.Bytes, gso4);
            case MalformedFrame.Ipv4OptionsBeyondFrame:
                tcp4.Bytes[ip4] = 0x4F;
                return (tcp4.Bytes[..(ip4 + 40)], gso4 with { HeaderLength = 0 });
            case MalformedFrame.Ipv4MoreFragments:
                tcp4.Bytes[ip4 + 6] |= 0x20;
                return (tcp4.Bytes, gso4);
            case MalformedFrame.Ipv4FragmentOffset:
                tcp4.Bytes[ip4 + 7] = 0xB9;
                return (tcp4.Bytes, gso4);
            case MalformedFrame.Ipv6VersionWrong:
                tcp6.Bytes[ip6] = 0x40;
                return (tcp6.Bytes, gso6);
            case MalformedFrame.Ipv6HeaderBeyondFrame:
                return (tcp6.Bytes[..(ip6 + 39)], gso6 with { HeaderLength = 0 });
            case MalformedFrame.Ipv6RoutingHeader:
                return WithExtensionHeaderType(43);
            case MalformedFrame.Ipv6FragmentHeader:
                return WithExtensionHeaderType(44);
            case MalformedFrame.Ipv6ExtensionHeaderBeyondFrame:
                var options = TestFrames.Tcp(ipv6: true, 0, ipv6DestinationOptionsLength: 8);
                options.Bytes[options.L3Offset + 41] = 200;
                return (options.Bytes, options.GsoHeader(VirtioNetHeader.GsoTcpV6, Mss) with { HeaderLength = 0 });
            default:
                return null;
        }
    }

    /// <summary>The TCP or UDP header is wrong, or a segment would not fit its lengths.</summary>
    private static (byte[] Frame, VirtioNetHeader Header)? TransportCase(MalformedFrame malformed)
    {
        var tcp4 = TestFrames.Tcp(ipv6: false, 10 * Mss);
        var udp4 = TestFrames.Udp(ipv6: false, 10 * Mss);
        var gso4 = tcp4.GsoHeader(VirtioNetHeader.GsoTcpV4, Mss);
        var uso4 = udp4.GsoHeader(VirtioNetHeader.GsoUdpL4, Mss);
        switch (malformed)
        {
            case MalformedFrame.TcpDataOffsetBelowTwentyBytes:
                tcp4.Bytes[tcp4.L4Offset + 12] = 0x40;
                return (tcp4.Bytes, gso4);
            case MalformedFrame.TcpHeaderBeyondFrame:
                return (tcp4.Bytes[..(tcp4.L4Offset + 30)], gso4 with { HeaderLength = 0 });
            case MalformedFrame.UdpHeaderBeyondFrame:
                return (udp4.Bytes[..(udp4.L4Offset + 7)], uso4 with { HeaderLength = 0 });
            case MalformedFrame.SegmentLongerThanIpv4Allows:
                // 65536 bytes of IPv4 packet in a frame the kernel would not build, and a gso_size that
                // would send it whole: its total length cannot be written.
                var huge = TestFrames.Tcp(ipv6: false, 65536 - 20 - 20 - TestFrames.TimestampOptionLength);
                return (huge.Bytes, huge.GsoHeader(VirtioNetHeader.GsoTcpV4, ushort.MaxValue));
            default:
                return null;
        }
    }

    /// <summary>A TCP/IPv6 frame whose first extension header (in the destination options' place) has another type.</summary>
    private static (byte[] Frame, VirtioNetHeader Header) WithExtensionHeaderType(byte nextHeader)
    {
        var frame = TestFrames.Tcp(ipv6: true, 10 * Mss, ipv6DestinationOptionsLength: 8);
        frame.Bytes[frame.L3Offset + 6] = nextHeader;
        return (frame.Bytes, frame.GsoHeader(VirtioNetHeader.GsoTcpV6, Mss));
    }
}
