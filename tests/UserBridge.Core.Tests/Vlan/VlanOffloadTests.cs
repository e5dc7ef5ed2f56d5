using System.Buffers.Binary;
using UserBridge.Core.Forwarding;
using UserBridge.Core.Offload;
using UserBridge.Core.Ports;
using UserBridge.Core.Tests.Offload;

namespace UserBridge.Core.Tests.Vlan;

/// <summary>
/// A virtio-net header counts its offsets from the first byte of the Ethernet header, so a tag pushed or popped
/// in front of the IP header moves the checksum it asks for: the switch must finish it (or hand it on) at the
/// moved place.
/// </summary>
public sealed class VlanOffloadTests
{
    private const int TcpChecksumOffset = 16;
    private const ushort Mss = 1000;

    [Theory]
    [InlineData(0, IngressPortKind.Access10, EgressPortKind.Trunk10And20, Tag.Dot1qTpid, 10)]
    [InlineData(0, IngressPortKind.Tunnel100, EgressPortKind.Dot1adTrunk100, Tag.Dot1adTpid, 100)]
    [InlineData(1, IngressPortKind.Tunnel100, EgressPortKind.Dot1adTrunk100, Tag.Dot1adTpid, 100)]
    public void APartialChecksumIsFinishedBehindAPushedTagForAPortWithoutOffloads(int vlanTags, IngressPortKind ingress, EgressPortKind egress, ushort pushedTpid, int pushedVid)
    {
        var sent = TestFrames.Tcp(ipv6: false, payloadLength: 1000, vlanTags: vlanTags);
        var header = PartialChecksum(sent);
        var pushed = new Tag(pushedTpid, pushedVid);
        var expected = WithTagPushed(sent.Bytes, pushed);

        var arrived = Assert.Single(SendThrough(sent, header, ingress, egress));

        Assert.Equal((ushort)(34 + (4 * vlanTags)), header.ChecksumStart);
        Assert.False(TcpChecksumVerifies(expected, sent.L3Offset + 4), "the frame sent carries only the pseudo-header sum");
        AssertSameButTheChecksum(expected, arrived, sent.L4Offset + 4 + TcpChecksumOffset);
        Assert.True(TcpChecksumVerifies(arrived, sent.L3Offset + 4), $"TCP checksum of {Convert.ToHexString(arrived)}");
    }

    [Theory]
    [InlineData(1, IngressPortKind.Trunk10And20, EgressPortKind.Access10)]
    [InlineData(1, IngressPortKind.Trunk10And20, EgressPortKind.Trunk10And20Native10)]
    [InlineData(2, IngressPortKind.Dot1adTrunk100, EgressPortKind.Tunnel100)]
    [InlineData(2, IngressPortKind.Dot1adTrunk100, EgressPortKind.Access100)]
    public void APartialChecksumIsFinishedInFrontOfAPoppedTagForAPortWithoutOffloads(int vlanTags, IngressPortKind ingress, EgressPortKind egress)
    {
        var sent = Retagged(TestFrames.Tcp(ipv6: false, payloadLength: 1000, vlanTags: vlanTags), ingress);
        var header = PartialChecksum(sent);
        var expected = WithOuterTagPopped(sent.Bytes);

        var arrived = Assert.Single(SendThrough(sent, header, ingress, egress));

        AssertSameButTheChecksum(expected, arrived, sent.L4Offset - 4 + TcpChecksumOffset);
        Assert.True(TcpChecksumVerifies(arrived, sent.L3Offset - 4), $"TCP checksum of {Convert.ToHexString(arrived)}");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void APortThatTakesOffloadsGetsTheFrameWholeWithItsOffsetsMovedByTheTag(bool push)
    {
        var sent = push
            ? TestFrames.Tcp(ipv6: false, payloadLength: 1000)
            : Retagged(TestFrames.Tcp(ipv6: false, payloadLength: 1000, vlanTags: 1), IngressPortKind.Trunk10And20);
        var header = PartialChecksum(sent);
        var recorder = new OffloadRecordingPort("offload");
        using var bridge = new VlanSwitch(
        [
            (new MemoryPort("in"), push ? PortVlan.Access(10) : PortVlan.Trunk([10, 20])),
            (recorder, push ? PortVlan.Trunk([10, 20]) : PortVlan.Access(10)),
        ]);

        bridge.Send(0, sent.Bytes, header);

        var (frame, offload) = Assert.Single(recorder.Sent);
        var delta = push ? 4 : -4;
        Assert.Equal(push ? WithTagPushed(sent.Bytes, Tag.Dot1q(10)) : WithOuterTagPopped(sent.Bytes), frame);
        Assert.Equal(
            header with { ChecksumStart = (ushort)(header.ChecksumStart + delta), HeaderLength = (ushort)(header.HeaderLength + delta) },
            offload);
    }

    [Theory]
    [InlineData(0, IngressPortKind.Access10, EgressPortKind.Trunk10And20, Tag.Dot1qTpid, 10)]
    [InlineData(1, IngressPortKind.Tunnel100, EgressPortKind.Dot1adTrunk100, Tag.Dot1adTpid, 100)]
    public void AGsoFrameIsCutIntoSegmentsBehindAPushedTagWithCorrectChecksumsForAPortWithoutOffloads(int vlanTags, IngressPortKind ingress, EgressPortKind egress, ushort pushedTpid, int pushedVid)
    {
        var sent = TestFrames.Tcp(ipv6: false, payloadLength: 3500, vlanTags: vlanTags);

        var segments = SendThrough(sent, sent.GsoHeader(VirtioNetHeader.GsoTcpV4, Mss), ingress, egress);

        AssertSegments(sent, WithTagPushed(sent.Bytes, new Tag(pushedTpid, pushedVid)), 4, segments);
    }

    [Theory]
    [InlineData(1, IngressPortKind.Trunk10And20, EgressPortKind.Access10)]
    [InlineData(2, IngressPortKind.Dot1adTrunk100, EgressPortKind.Tunnel100)]
    public void AGsoFrameIsCutIntoSegmentsInFrontOfAPoppedTagWithCorrectChecksumsForAPortWithoutOffloads(int vlanTags, IngressPortKind ingress, EgressPortKind egress)
    {
        var sent = Retagged(TestFrames.Tcp(ipv6: false, payloadLength: 3500, vlanTags: vlanTags), ingress);

        var segments = SendThrough(sent, sent.GsoHeader(VirtioNetHeader.GsoTcpV4, Mss), ingress, egress);

        AssertSegments(sent, WithOuterTagPopped(sent.Bytes), -4, segments);
    }

    /// <summary>Sends <paramref name="sent"/> from a port of kind <paramref name="ingress"/> to a plain memory port; returns what arrived.</summary>
    private static List<byte[]> SendThrough(TestFrame sent, VirtioNetHeader header, IngressPortKind ingress, EgressPortKind egress)
    {
        var original = sent.Bytes.ToArray();
        using var bridge = VlanSwitch.Of(VlanMatrix.SettingsOf(ingress), VlanMatrix.SettingsOf(egress));

        var decision = bridge.Send(0, sent.Bytes, header);

        Assert.NotEqual(ForwardingAction.Drop, decision.Action);
        Assert.Equal(original, sent.Bytes);
        return bridge.Drain(1);
    }

    /// <summary>The header of a frame whose transport checksum is left to finish (CHECKSUM_PARTIAL), no GSO.</summary>
    private static VirtioNetHeader PartialChecksum(TestFrame frame) => new(
        VirtioNetHeader.FlagNeedsChecksum, VirtioNetHeader.GsoNone, (ushort)frame.PayloadOffset, 0, (ushort)frame.L4Offset, TcpChecksumOffset);

    /// <summary>
    /// <see cref="TestFrames"/> tags with 802.1Q VID 100 (one tag) or 802.1ad 100 over 802.1Q 101 (two): a single tag
    /// is given VID 10 here for the trunks that allow 10.
    /// </summary>
    private static TestFrame Retagged(TestFrame frame, IngressPortKind ingress)
    {
        if (ingress is IngressPortKind.Trunk10And20 or IngressPortKind.Trunk1And10And20Native1)
        {
            BinaryPrimitives.WriteUInt16BigEndian(frame.Bytes.AsSpan(14), 10);
        }

        return frame;
    }

    /// <summary>
    /// Checks the segments of <paramref name="sent"/>: each with the L2 header of <paramref name="expectedWhole"/>
    /// (the frame with its tag pushed or popped, <paramref name="lengthDelta"/> bytes longer), valid IPv4 and TCP
    /// checksums, and together the whole payload in order.
    /// </summary>
    private static void AssertSegments(TestFrame sent, byte[] expectedWhole, int lengthDelta, List<byte[]> segments)
    {
        var l3Offset = sent.L3Offset + lengthDelta;
        var payload = new List<byte>();
        Assert.Equal((sent.PayloadLength + Mss - 1) / Mss, segments.Count);
        foreach (var segment in segments)
        {
            Assert.Equal(Convert.ToHexString(expectedWhole[..l3Offset]), Convert.ToHexString(segment[..l3Offset]));
            Assert.Equal(0xFFFF, NaiveChecksum.Sum(segment.AsSpan(l3Offset, 20)));
            Assert.True(TcpChecksumVerifies(segment, l3Offset), $"TCP checksum of {Convert.ToHexString(segment)}");
            payload.AddRange(segment[(sent.PayloadOffset + lengthDelta)..]);
        }

        Assert.Equal(sent.Payload.ToArray(), payload.ToArray());
    }

    private static byte[] WithTagPushed(byte[] frame, Tag tag)
    {
        var tagged = new byte[frame.Length + 4];
        frame.AsSpan(0, 12).CopyTo(tagged);
        BinaryPrimitives.WriteUInt16BigEndian(tagged.AsSpan(12), tag.Tpid);
        BinaryPrimitives.WriteUInt16BigEndian(tagged.AsSpan(14), tag.Tci);
        frame.AsSpan(12).CopyTo(tagged.AsSpan(16));
        return tagged;
    }

    private static byte[] WithOuterTagPopped(byte[] frame) => [.. frame.AsSpan(0, 12), .. frame.AsSpan(16)];

    private static void AssertSameButTheChecksum(byte[] expected, byte[] actual, int checksumAt)
    {
        Assert.Equal(expected.Length, actual.Length);
        var masked = actual.ToArray();
        masked[checksumAt] = expected[checksumAt];
        masked[checksumAt + 1] = expected[checksumAt + 1];
        Assert.Equal(Convert.ToHexString(expected), Convert.ToHexString(masked));
    }

    /// <summary>
    /// True when the TCP checksum of the IPv4 packet at <paramref name="l3Offset"/> verifies: pseudo-header plus segment sum
    /// to all ones, by the naive oracle (<see cref="NaiveChecksum"/>), not by the code that computed the checksum.
    /// </summary>
    private static bool TcpChecksumVerifies(byte[] frame, int l3Offset)
    {
        var ip = frame.AsSpan(l3Offset);
        var transport = ip[((ip[0] & 0x0F) * 4)..];
        var pseudo = NaiveChecksum.Ipv4PseudoHeader(ip, TestFrames.ProtocolTcp, transport.Length);
        return NaiveChecksum.Sum(transport, NaiveChecksum.Sum(pseudo)) == 0xFFFF;
    }
}
