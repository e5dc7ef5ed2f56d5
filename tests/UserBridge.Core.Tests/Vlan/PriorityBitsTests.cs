using UserBridge.Core.Ports;

namespace UserBridge.Core.Tests.Vlan;

/// <summary>Issue 4: "The priority bits (PCP/DEI) of a tag are kept when the tag is kept or rewritten."</summary>
public sealed class PriorityBitsTests
{
    [Theory]
    [InlineData(0, false)]
    [InlineData(5, false)]
    [InlineData(7, true)]
    [InlineData(0, true)]
    public void APriorityTaggedFrameEnteringAnAccessPortLeavesATrunkTaggedWithItsPcpAndDei(int pcp, bool dei)
    {
        using var bridge = VlanSwitch.Of(PortVlan.Access(10), PortVlan.Trunk([10, 20]), PortVlan.Access(10));

        bridge.Send(0, TaggedFrames.Broadcast([Tag.Dot1q(0, pcp, dei)]));

        Assert.Equal(TaggedFrames.Broadcast([Tag.Dot1q(10, pcp, dei)]), Assert.Single(bridge.Drain(1)));
        Assert.Equal(TaggedFrames.Broadcast([]), Assert.Single(bridge.Drain(2)));
    }

    [Theory]
    [InlineData(Tag.Dot1qTpid, Tag.Dot1adTpid, 5, true)]
    [InlineData(Tag.Dot1adTpid, Tag.Dot1qTpid, 3, false)]
    [InlineData(Tag.Dot1adTpid, Tag.Dot1qTpid, 6, true)]
    [InlineData(Tag.Dot1qTpid, Tag.Dot1qTpid, 7, true)]
    [InlineData(Tag.Dot1adTpid, Tag.Dot1adTpid, 2, false)]
    public void ATagCrossingTrunksKeepsItsPcpAndDeiWhetherItsTpidIsRewrittenOrNot(ushort ingressTpid, ushort egressTpid, int pcp, bool dei)
    {
        using var bridge = VlanSwitch.Of(PortVlan.Trunk([10, 20], tpid: ingressTpid), PortVlan.Trunk([10], tpid: egressTpid));

        bridge.Send(0, TaggedFrames.Broadcast([new Tag(ingressTpid, 10, pcp, dei)]));

        Assert.Equal(TaggedFrames.Broadcast([new Tag(egressTpid, 10, pcp, dei)]), Assert.Single(bridge.Drain(1)));
    }

    [Theory]
    [InlineData(5, false)]
    [InlineData(1, true)]
    public void APriorityTaggedFrameOnATrunkEntersTheNativeVlanAndIsRetaggedWithItsPcpAndDei(int pcp, bool dei)
    {
        using var bridge = VlanSwitch.Of(PortVlan.Trunk([1, 10], native: 1), PortVlan.Trunk([1]), PortVlan.Trunk([1, 10], tpid: Tag.Dot1adTpid));

        bridge.Send(0, TaggedFrames.Broadcast([Tag.Dot1q(0, pcp, dei)]));

        Assert.Equal(TaggedFrames.Broadcast([Tag.Dot1q(1, pcp, dei)]), Assert.Single(bridge.Drain(1)));
        Assert.Equal(TaggedFrames.Broadcast([Tag.Dot1ad(1, pcp, dei)]), Assert.Single(bridge.Drain(2)));
    }

    [Fact]
    public void TheCustomerTagOfADot1qTunnelFrameKeepsItsPriorityBitsUnderTheSTag()
    {
        using var bridge = VlanSwitch.Of(PortVlan.Dot1qTunnel(100), PortVlan.Trunk([100], tpid: Tag.Dot1adTpid), PortVlan.Dot1qTunnel(100));
        var customerTag = Tag.Dot1q(10, pcp: 6, dei: true);

        bridge.Send(0, TaggedFrames.Broadcast([customerTag]));

        Assert.Equal(TaggedFrames.Broadcast([Tag.Dot1ad(100), customerTag]), Assert.Single(bridge.Drain(1)));
        Assert.Equal(TaggedFrames.Broadcast([customerTag]), Assert.Single(bridge.Drain(2)));
    }

    [Fact]
    public void OneFloodTagsForTrunksOfDifferentTpidsInAnyOrder()
    {
        using var bridge = VlanSwitch.Of(
            PortVlan.Access(100),
            PortVlan.Trunk([100]),
            PortVlan.Trunk([100], tpid: Tag.Dot1adTpid),
            PortVlan.Trunk([100]),
            PortVlan.Access(100),
            PortVlan.Trunk([100], tpid: Tag.Dot1adTpid));

        bridge.Send(0, TaggedFrames.Broadcast([Tag.Dot1q(0, pcp: 4)]));

        Assert.Equal(TaggedFrames.Broadcast([Tag.Dot1q(100, pcp: 4)]), Assert.Single(bridge.Drain(1)));
        Assert.Equal(TaggedFrames.Broadcast([Tag.Dot1ad(100, pcp: 4)]), Assert.Single(bridge.Drain(2)));
        Assert.Equal(TaggedFrames.Broadcast([Tag.Dot1q(100, pcp: 4)]), Assert.Single(bridge.Drain(3)));
        Assert.Equal(TaggedFrames.Broadcast([]), Assert.Single(bridge.Drain(4)));
        Assert.Equal(TaggedFrames.Broadcast([Tag.Dot1ad(100, pcp: 4)]), Assert.Single(bridge.Drain(5)));
    }
}
