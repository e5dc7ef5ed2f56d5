using System.Buffers.Binary;
using UserBridge.Core.Offload;

namespace UserBridge.Core.Tests.Offload;

public sealed class InternetChecksumTests
{
    [Fact]
    public void SumsTheExampleBytesOfRfc1071()
    {
        // RFC 1071 §3: 00 01 f2 03 f4 f5 f6 f7 sums to dd f2 (in either byte order, swapped).
        byte[] bytes = [0x00, 0x01, 0xF2, 0x03, 0xF4, 0xF5, 0xF6, 0xF7];

        Assert.Equal(0xDDF2, InternetChecksum.Sum(bytes));
        Assert.Equal(0x220D, InternetChecksum.Compute(bytes));
    }

    [Fact]
    public void ComputesTheChecksumOfAKnownIpv4Header()
    {
        // 192.168.0.1 -> 192.168.0.199, UDP, DF, TTL 64, total length 115: the checksum is b861.
        byte[] header = [0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xC0, 0xA8, 0x00, 0x01, 0xC0, 0xA8, 0x00, 0xC7];

        Assert.Equal(0xB861, InternetChecksum.Compute(header));

        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(10), 0xB861);
        Assert.Equal(0xFFFF, InternetChecksum.Sum(header));
    }

    [Fact]
    public void MatchesTheNaiveSumForEveryLengthAlignmentAndInitialSum()
    {
        var random = new Random(1071);
        var buffer = new byte[65536 + 8];
        random.NextBytes(buffer);
        int[] longLengths = [1499, 1500, 9000, 65535, 65536];
        for (var alignment = 0; alignment < 8; alignment++)
        {
            for (var length = 0; length <= 300; length++)
            {
                AssertMatchesNaive(buffer.AsSpan(alignment, length), (ushort)random.Next(0x10000));
            }

            foreach (var length in longLengths)
            {
                AssertMatchesNaive(buffer.AsSpan(alignment, length), (ushort)random.Next(0x10000));
            }
        }
    }

    [Fact]
    public void MatchesTheNaiveSumOnAllOnesDataWhereEveryWordCarries()
    {
        var ones = new byte[65536];
        Array.Fill(ones, (byte)0xFF);

        for (var length = 0; length <= ones.Length; length += 4093)
        {
            AssertMatchesNaive(ones.AsSpan(0, length), 0xFFFF);
        }
    }

    [Fact]
    public void ContinuesASumAcrossSpansOfEvenLength()
    {
        var data = TestFrames.Payload(1001, seed: 3);

        var continued = InternetChecksum.Sum(data.AsSpan(600), InternetChecksum.Sum(data.AsSpan(0, 600)));

        Assert.Equal(InternetChecksum.Sum(data), continued);
    }

    [Theory]
    [InlineData(0x0000, 0x0000, 0x0000)]
    [InlineData(0xFFFF, 0x0001, 0x0001)]
    [InlineData(0x8000, 0x8000, 0x0001)]
    [InlineData(0x1234, 0x4321, 0x5555)]
    [InlineData(0xFFFF, 0xFFFF, 0xFFFF)]
    public void AddsSumsWithAnEndAroundCarry(int left, int right, int sum)
    {
        Assert.Equal(sum, InternetChecksum.Add((ushort)left, (ushort)right));
    }

    [Theory]
    [InlineData(InternetChecksum.ProtocolTcp, 20)]
    [InlineData(InternetChecksum.ProtocolUdp, 65535)]
    [InlineData(InternetChecksum.ProtocolTcp, 1480)]
    public void SumsTheIpv4PseudoHeaderAsTheRfcLaysItOut(byte protocol, int transportLength)
    {
        var header = TestFrames.Tcp(ipv6: false, payloadLength: 0).Bytes.AsSpan(14, 20);

        var sum = InternetChecksum.PseudoHeaderSumIpv4(header[12..], header[16..], protocol, transportLength);

        Assert.Equal(NaiveChecksum.Sum(NaiveChecksum.Ipv4PseudoHeader(header, protocol, transportLength)), sum);
    }

    [Theory]
    [InlineData(InternetChecksum.ProtocolTcp, 20)]
    [InlineData(InternetChecksum.ProtocolUdp, 65535)]
    [InlineData(InternetChecksum.ProtocolUdp, 70000)]
    public void SumsTheIpv6PseudoHeaderAsTheRfcLaysItOut(byte protocol, int transportLength)
    {
        var header = TestFrames.Tcp(ipv6: true, payloadLength: 0).Bytes.AsSpan(14, 40);

        var sum = InternetChecksum.PseudoHeaderSumIpv6(header[8..], header[24..], protocol, transportLength);

        Assert.Equal(NaiveChecksum.Sum(NaiveChecksum.Ipv6PseudoHeader(header, protocol, transportLength)), sum);
    }

    [Fact]
    public void CompletePartialFinishesATcpIpv4Frame()
    {
        var frame = TestFrames.Tcp(ipv6: false, payloadLength: 1448, vlanTags: 1);
        var bytes = frame.Bytes;
        var expected = ChecksumOfFrameWithFieldZeroed(frame);

        Assert.True(InternetChecksum.CompletePartial(bytes, frame.L4Offset, frame.ChecksumOffset));

        Assert.True(NaiveChecksum.TransportChecksumVerifies(bytes, frame));
        Assert.Equal(expected, BinaryPrimitives.ReadUInt16BigEndian(bytes.AsSpan(frame.L4Offset + frame.ChecksumOffset)));
    }

    [Fact]
    public void CompletePartialFinishesAUdpIpv6Frame()
    {
        var frame = TestFrames.Udp(ipv6: true, payloadLength: 1231);
        var bytes = frame.Bytes;
        var expected = ChecksumOfFrameWithFieldZeroed(frame);

        Assert.True(InternetChecksum.CompletePartial(bytes, frame.L4Offset, frame.ChecksumOffset));

        Assert.True(NaiveChecksum.TransportChecksumVerifies(bytes, frame));
        Assert.Equal(expected, BinaryPrimitives.ReadUInt16BigEndian(bytes.AsSpan(frame.L4Offset + frame.ChecksumOffset)));
    }

    [Fact]
    public void CompletePartialStoresAComputedZeroAsAllOnes()
    {
        // The field holds 0 and the data sums to ffff, so the complement is 0: UDP would read that as "no
        // checksum", so it must go out as ffff.
        byte[] frame = [0xAA, 0x00, 0x00, 0xFF, 0xFF];

        Assert.True(InternetChecksum.CompletePartial(frame, checksumStart: 1, checksumOffset: 0));

        Assert.Equal([0xAA, 0xFF, 0xFF, 0xFF, 0xFF], frame);
    }

    [Theory]
    [InlineData(64, -1, 16)]
    [InlineData(64, 0, -2)]
    [InlineData(64, 63, 0)]
    [InlineData(64, 48, 16)]
    [InlineData(64, 65, 0)]
    [InlineData(64, 34, 7)]
    [InlineData(64, int.MaxValue, 16)]
    [InlineData(64, 16, int.MaxValue - 1)]
    [InlineData(0, 0, 0)]
    public void CompletePartialRefusesAFieldOutsideTheFrameOrAtAnOddOffset(int frameLength, int checksumStart, int checksumOffset)
    {
        var frame = TestFrames.Payload(frameLength, seed: 5);
        var before = frame.ToArray();

        Assert.False(InternetChecksum.CompletePartial(frame, checksumStart, checksumOffset));

        Assert.Equal(before, frame);
    }

    [Fact]
    public void CompletePartialAcceptsAFieldThatEndsTheFrame()
    {
        var frame = new byte[64];

        Assert.True(InternetChecksum.CompletePartial(frame, checksumStart: 46, checksumOffset: 16));
    }

    private static void AssertMatchesNaive(ReadOnlySpan<byte> data, ushort initialSum)
    {
        var expected = NaiveChecksum.Sum(data, initialSum);
        var actual = InternetChecksum.Sum(data, initialSum);
        Assert.True(expected == actual, $"length {data.Length}, initial {initialSum:x4}: expected {expected:x4}, got {actual:x4}");
    }

    /// <summary>The checksum the naive reference computes over the pseudo-header and the segment with its field zeroed.</summary>
    private static ushort ChecksumOfFrameWithFieldZeroed(TestFrame frame)
    {
        var copy = frame.Bytes.ToArray();
        BinaryPrimitives.WriteUInt16BigEndian(copy.AsSpan(frame.L4Offset + frame.ChecksumOffset), 0);
        var transport = copy.AsSpan(frame.L4Offset);
        var l3 = copy.AsSpan(frame.L3Offset);
        var pseudo = frame.IsIpv6
            ? NaiveChecksum.Ipv6PseudoHeader(l3, frame.Protocol, transport.Length)
            : NaiveChecksum.Ipv4PseudoHeader(l3, frame.Protocol, transport.Length);
        var checksum = (ushort)~NaiveChecksum.Sum(transport, NaiveChecksum.Sum(pseudo));
        return checksum == 0 ? (ushort)0xFFFF : checksum;
    }
}
