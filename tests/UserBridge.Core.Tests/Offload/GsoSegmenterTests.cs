using System.Buffers.Binary;
using UserBridge.Core.Offload;
using UserBridge.Tests.Shared;

namespace UserBridge.Core.Tests.Offload;

public sealed class GsoSegmenterTests
{
    private const ushort Mss = 1448;

    /// <summary>A TCP/IPv4 GSO frame as big as IPv4 allows: 65535 bytes of IP packet, timestamps on.</summary>
    private const int LargestTcpIpv4Payload = 65535 - 20 - 20 - TestFrames.TimestampOptionLength;

    private readonly GsoSegmenter _segmenter = new();

    [Fact]
    public void EmitsAFrameWithoutOffloadsUnchangedAndUncopied()
    {
        var frame = TestFrames.Tcp(ipv6: false, payloadLength: 100).Bytes;
        var sink = new SpanIdentitySink(frame);

        var count = _segmenter.Process(frame, VirtioNetHeader.None, ref sink);

        Assert.Equal(1, count);
        Assert.Equal(1, sink.FrameCount);
        Assert.Equal(1, sink.InputItselfCount);
    }

    [Fact]
    public void EmitsADataValidFrameUnchanged()
    {
        var frame = TestFrames.Udp(ipv6: true, payloadLength: 100).Bytes;
        var header = new VirtioNetHeader(VirtioNetHeader.FlagDataValid, VirtioNetHeader.GsoNone, 0, 0, 0, 0);
        var sink = new CollectingSink();

        Assert.Equal(1, _segmenter.Process(frame, header, ref sink));

        Assert.Equal(frame, Assert.Single(sink.Frames));
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public void FinishesThePartialChecksumOfANonGsoFrameOnACopy(bool ipv6, bool udp)
    {
        var frame = udp ? TestFrames.Udp(ipv6, payloadLength: 1000) : TestFrames.Tcp(ipv6, payloadLength: 1448);
        var input = frame.Bytes.ToArray();
        var sink = new CollectingSink();

        Assert.Equal(1, _segmenter.Process(input, frame.PartialChecksumHeader(), ref sink));

        var emitted = Assert.Single(sink.Frames);
        Assert.True(NaiveChecksum.TransportChecksumVerifies(emitted, frame));
        Assert.Equal(frame.Bytes, input);
        Assert.Equal(frame.Bytes.Length, emitted.Length);
    }

    [Fact]
    public void CutsA64KiBTcpIpv4FrameIntoMssSizedWireFrames()
    {
        var frame = TestFrames.Tcp(ipv6: false, payloadLength: LargestTcpIpv4Payload);
        var sink = new CollectingSink();

        var count = _segmenter.Process(frame.Bytes, frame.GsoHeader(VirtioNetHeader.GsoTcpV4, Mss), ref sink);

        Assert.Equal(46, count);
        SegmentAssert.AreWireFramesOf(frame, sink.Frames, Mss);
    }

    [Fact]
    public void CutsA64KiBTcpIpv6FrameIntoMssSizedWireFrames()
    {
        var frame = TestFrames.Tcp(ipv6: true, payloadLength: 65535 - 20 - TestFrames.TimestampOptionLength);
        var sink = new CollectingSink();

        var count = _segmenter.Process(frame.Bytes, frame.GsoHeader(VirtioNetHeader.GsoTcpV6, 1428), ref sink);

        Assert.Equal(46, count);
        SegmentAssert.AreWireFramesOf(frame, sink.Frames, 1428);
    }

    [Theory]
    [InlineData(false, 1)]
    [InlineData(false, 2)]
    [InlineData(true, 1)]
    [InlineData(true, 2)]
    public void FindsTheIpHeaderBehindOneOrTwoVlanTags(bool ipv6, int vlanTags)
    {
        var frame = TestFrames.Tcp(ipv6, payloadLength: 20000, vlanTags: vlanTags);
        var sink = new CollectingSink();
        var gsoType = ipv6 ? VirtioNetHeader.GsoTcpV6 : VirtioNetHeader.GsoTcpV4;

        var count = _segmenter.Process(frame.Bytes, frame.GsoHeader(gsoType, Mss), ref sink);

        Assert.Equal(14, count);
        SegmentAssert.AreWireFramesOf(frame, sink.Frames, Mss);
    }

    [Fact]
    public void CopiesIpv4OptionsIntoEverySegment()
    {
        var frame = TestFrames.Tcp(ipv6: false, payloadLength: 5000, ipv4OptionsLength: 12);
        var sink = new CollectingSink();

        var count = _segmenter.Process(frame.Bytes, frame.GsoHeader(VirtioNetHeader.GsoTcpV4, Mss), ref sink);

        Assert.Equal(4, count);
        SegmentAssert.AreWireFramesOf(frame, sink.Frames, Mss);
    }

    [Fact]
    public void CopiesIpv6DestinationOptionsIntoEverySegment()
    {
        var frame = TestFrames.Tcp(ipv6: true, payloadLength: 5000, ipv6DestinationOptionsLength: 16);
        var sink = new CollectingSink();

        var count = _segmenter.Process(frame.Bytes, frame.GsoHeader(VirtioNetHeader.GsoTcpV6, Mss), ref sink);

        Assert.Equal(4, count);
        SegmentAssert.AreWireFramesOf(frame, sink.Frames, Mss);
    }

    [Theory]
    [InlineData(false, 0)]
    [InlineData(false, 2)]
    [InlineData(true, 0)]
    [InlineData(true, 1)]
    public void CutsAUdpL4FrameIntoDatagramsOfGsoSizePayload(bool ipv6, int vlanTags)
    {
        var frame = TestFrames.Udp(ipv6, payloadLength: (53 * 1200) + 17, vlanTags);
        var sink = new CollectingSink();

        var count = _segmenter.Process(frame.Bytes, frame.GsoHeader(VirtioNetHeader.GsoUdpL4, 1200), ref sink);

        Assert.Equal(54, count);
        SegmentAssert.AreWireFramesOf(frame, sink.Frames, 1200);
    }

    [Fact]
    public void KeepsFinAndPshOnlyOnTheLastSegmentAndCwrOnlyOnTheFirst()
    {
        const byte flags = TestFrames.TcpCwr | TestFrames.TcpEce | TestFrames.TcpAck | TestFrames.TcpPsh | TestFrames.TcpFin;
        var frame = TestFrames.Tcp(ipv6: false, payloadLength: 3 * Mss, tcpFlags: flags);
        var sink = new CollectingSink();

        var count = _segmenter.Process(frame.Bytes, frame.GsoHeader(VirtioNetHeader.GsoTcpV4 | VirtioNetHeader.GsoEcn, Mss), ref sink);

        Assert.Equal(3, count);
        byte[] expected =
        [
            TestFrames.TcpCwr | TestFrames.TcpEce | TestFrames.TcpAck,
            TestFrames.TcpEce | TestFrames.TcpAck,
            TestFrames.TcpEce | TestFrames.TcpAck | TestFrames.TcpPsh | TestFrames.TcpFin,
        ];
        Assert.Equal(expected, sink.Frames.Select(segment => segment[frame.L4Offset + 13]));
        SegmentAssert.AreWireFramesOf(frame, sink.Frames, Mss);
    }

    [Fact]
    public void AdvancesSequenceNumbersAndIpIdsAcrossTheirWrap()
    {
        var frame = TestFrames.Tcp(ipv6: false, payloadLength: 30 * Mss, sequence: uint.MaxValue - Mss);
        var sink = new CollectingSink();

        Assert.Equal(30, _segmenter.Process(frame.Bytes, frame.GsoHeader(VirtioNetHeader.GsoTcpV4, Mss), ref sink));

        Assert.Equal(uint.MaxValue - Mss, Sequence(sink.Frames[0], frame));
        Assert.Equal(uint.MaxValue, Sequence(sink.Frames[1], frame));
        Assert.Equal(Mss - 1u, Sequence(sink.Frames[2], frame));
        Assert.Equal(0xFFFF, IpId(sink.Frames[15], frame));
        Assert.Equal(0, IpId(sink.Frames[16], frame));
        SegmentAssert.AreWireFramesOf(frame, sink.Frames, Mss);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(Mss)]
    public void EmitsOneFinishedFrameWhenThePayloadFitsInOneSegment(int payloadLength)
    {
        var frame = TestFrames.Tcp(ipv6: false, payloadLength: payloadLength, tcpFlags: TestFrames.TcpAck | TestFrames.TcpFin);
        var sink = new CollectingSink();

        Assert.Equal(1, _segmenter.Process(frame.Bytes, frame.GsoHeader(VirtioNetHeader.GsoTcpV4, Mss), ref sink));

        SegmentAssert.AreWireFramesOf(frame, sink.Frames, Mss);
    }

    [Fact]
    public void CutsAFullFrameAtTheSmallestGsoSizeIntoAtMostMaxSegments()
    {
        var frame = TestFrames.Tcp(ipv6: false, payloadLength: 65_000);
        var sink = new CountingSink();

        var count = _segmenter.Process(frame.Bytes, frame.GsoHeader(VirtioNetHeader.GsoTcpV4, GsoSegmenter.MinGsoSize), ref sink);

        Assert.Equal((65_000 + GsoSegmenter.MinGsoSize - 1) / GsoSegmenter.MinGsoSize, count);
        Assert.True(count <= GsoSegmenter.MaxSegments, $"{count} segments from one frame");
    }

    [Theory]
    [InlineData(1514, 1448, 10)]
    [InlineData(1513, 1448, -1)]
    [InlineData(1000, 1448, -1)]
    public void RefusesSegmentsLongerThanTheEgressPortTakes(int maxSegmentLength, ushort mss, int expected)
    {
        // 14 + 20 + 20 + 12 (timestamps) + 1448 = 1514 bytes per full segment.
        var frame = TestFrames.Tcp(ipv6: false, payloadLength: 10 * mss);
        var sink = new CountingSink();

        Assert.Equal(expected, _segmenter.Process(frame.Bytes, frame.GsoHeader(VirtioNetHeader.GsoTcpV4, mss), maxSegmentLength, ref sink));
        Assert.Equal(Math.Max(expected, 0), sink.FrameCount);
    }

    [Theory]
    [InlineData(VirtioNetHeader.GsoTcpV4, 1, false)]
    [InlineData(VirtioNetHeader.GsoTcpV4, GsoSegmenter.MinGsoSize - 1, false)]
    [InlineData(VirtioNetHeader.GsoTcpV4, GsoSegmenter.MinGsoSize, true)]
    [InlineData(VirtioNetHeader.GsoTcpV6, 0, false)]
    [InlineData(VirtioNetHeader.GsoTcpV6, 0xFFFF, false)]
    [InlineData(VirtioNetHeader.GsoTcpV6, 1428, true)]
    [InlineData(VirtioNetHeader.GsoNone, 0, true)]
    public void AdmitsOnlyGsoSizesARealSenderUses(byte gsoType, ushort gsoSize, bool admitted)
    {
        var header = new VirtioNetHeader(VirtioNetHeader.FlagNeedsChecksum, gsoType, 54, gsoSize, 34, 16);

        Assert.Equal(admitted, GsoSegmenter.Admits(header, 60_054));
    }

    [Theory]
    [InlineData(1200, 128, true)]
    [InlineData(1200, 129, false)]
    public void AdmitsUsoOfAtMostTheKernelsDatagramCount(ushort gsoSize, int datagrams, bool admitted)
    {
        var header = new VirtioNetHeader(VirtioNetHeader.FlagNeedsChecksum, VirtioNetHeader.GsoUdpL4, 42, gsoSize, 34, 6);

        Assert.Equal(admitted, GsoSegmenter.Admits(header, 34 + 8 + (gsoSize * datagrams)));
    }

    [Fact]
    public void ComputesHeaderLengthsItselfRatherThanTrustingTheGuest()
    {
        // hdr_len short of the TCP header, IPv4 total length zero, a stale checksum: none of it matters.
        var frame = TestFrames.Tcp(ipv6: false, payloadLength: 10 * Mss, vlanTags: 1);
        var input = frame.Bytes.ToArray();
        BinaryPrimitives.WriteUInt16BigEndian(input.AsSpan(frame.L3Offset + 2), 0);
        BinaryPrimitives.WriteUInt16BigEndian(input.AsSpan(frame.L4Offset + 16), 0x1234);
        var header = frame.GsoHeader(VirtioNetHeader.GsoTcpV4, Mss) with { HeaderLength = 14 };
        var sink = new CollectingSink();

        Assert.Equal(10, _segmenter.Process(input, header, ref sink));

        SegmentAssert.AreWireFramesOf(frame, sink.Frames, Mss);
    }

    [Fact]
    public void FinishesTcpSegmentsOfASenderThatLeftNoPartialChecksum()
    {
        var frame = TestFrames.Tcp(ipv6: true, payloadLength: 5 * Mss);
        var header = frame.GsoHeader(VirtioNetHeader.GsoTcpV6, Mss) with { Flags = 0, ChecksumStart = 0, ChecksumOffset = 0 };
        var sink = new CollectingSink();

        Assert.Equal(5, _segmenter.Process(frame.Bytes, header, ref sink));

        SegmentAssert.AreWireFramesOf(frame, sink.Frames, Mss);
    }

    [Fact]
    public void LeavesTheInputFrameUntouched()
    {
        var frame = TestFrames.Tcp(ipv6: false, payloadLength: 10 * Mss);
        var input = frame.Bytes.ToArray();
        var sink = new CountingSink();

        Assert.Equal(10, _segmenter.Process(input, frame.GsoHeader(VirtioNetHeader.GsoTcpV4, Mss), ref sink));

        Assert.Equal(frame.Bytes, input);
    }

    [Fact]
    public void SegmentsAndFinishesChecksumsWithoutAllocating()
    {
        var gso = TestFrames.Tcp(ipv6: false, payloadLength: LargestTcpIpv4Payload);
        var partial = TestFrames.Udp(ipv6: true, payloadLength: 1400);
        var gsoHeader = gso.GsoHeader(VirtioNetHeader.GsoTcpV4, Mss);
        var partialHeader = partial.PartialChecksumHeader();
        var sink = new CountingSink();
        _segmenter.Process(gso.Bytes, gsoHeader, ref sink);
        _segmenter.Process(partial.Bytes, partialHeader, ref sink);
        _segmenter.Process(partial.Bytes, VirtioNetHeader.None, ref sink);

        var allocated = Allocations.PerAttempt(
            () =>
            {
                _segmenter.Process(gso.Bytes, gsoHeader, ref sink);
                _segmenter.Process(partial.Bytes, partialHeader, ref sink);
                _segmenter.Process(partial.Bytes, VirtioNetHeader.None, ref sink);
            },
            rounds: 100);

        Assert.Equal(0, allocated);
        Assert.Equal(0, sink.FrameCount % 48);
        Assert.True(sink.FrameCount >= 101 * 48);
    }

    private static uint Sequence(byte[] segment, TestFrame frame) => BinaryPrimitives.ReadUInt32BigEndian(segment.AsSpan(frame.L4Offset + 4));

    private static ushort IpId(byte[] segment, TestFrame frame) => BinaryPrimitives.ReadUInt16BigEndian(segment.AsSpan(frame.L3Offset + 4));
}
