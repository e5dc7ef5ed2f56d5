namespace UserBridge.Core.Tests.Vlan;

/// <summary>Issue 4: "Frames up to 1522 bytes (1526 with two tags) pass; buffers hold them."</summary>
public sealed class VlanFrameSizeTests
{
    [Theory]
    [InlineData(FrameKind.TaggedAllowed, IngressPortKind.Trunk10And20, EgressPortKind.Trunk10And20, 1522, 1522)]
    [InlineData(FrameKind.TaggedAllowed, IngressPortKind.Trunk1And10And20Native1, EgressPortKind.Trunk10And20, 1522, 1522)]
    [InlineData(FrameKind.DoubleTagged, IngressPortKind.Dot1adTrunk100, EgressPortKind.Dot1adTrunk100, 1526, 1526)]
    [InlineData(FrameKind.Untagged, IngressPortKind.Access10, EgressPortKind.Trunk10And20, 1518, 1522)]
    [InlineData(FrameKind.PriorityTagged, IngressPortKind.Access10, EgressPortKind.Trunk10And20, 1522, 1522)]
    [InlineData(FrameKind.TaggedAllowed, IngressPortKind.Tunnel100, EgressPortKind.Dot1adTrunk100, 1522, 1526)]
    [InlineData(FrameKind.DoubleTagged, IngressPortKind.Dot1adTrunk100, EgressPortKind.Tunnel100, 1526, 1522)]
    [InlineData(FrameKind.TaggedAllowed, IngressPortKind.Trunk10And20, EgressPortKind.Trunk10And20Native10, 1522, 1518)]
    public void AFullSizeFrameCrossesTheSwitchWhole(FrameKind kind, IngressPortKind ingress, EgressPortKind egress, int ingressLength, int egressLength)
    {
        var payloadLength = TaggedFrames.PayloadLengthFor(ingressLength, VlanMatrix.TagsOf(kind).Length);
        var frame = VlanMatrix.Build(kind, payloadLength);
        var expected = VlanMatrix.Expected(kind, ingress, egress, payloadLength).Frame;
        using var bridge = VlanSwitch.Of(VlanMatrix.SettingsOf(ingress), VlanMatrix.SettingsOf(egress));

        bridge.Send(0, frame);

        Assert.Equal(ingressLength, frame.Length);
        var arrived = Assert.Single(bridge.Drain(1));
        Assert.Equal(egressLength, arrived.Length);
        Assert.Equal(Convert.ToHexString(expected!), Convert.ToHexString(arrived));
        Assert.Equal(egressLength, bridge.Counters(1).TxBytes);
    }
}
