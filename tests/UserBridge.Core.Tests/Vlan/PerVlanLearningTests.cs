using UserBridge.Core.Forwarding;
using UserBridge.Core.Frames;
using UserBridge.Core.Ports;

namespace UserBridge.Core.Tests.Vlan;

/// <summary>Issue 4: "Learning and flooding are per VLAN (independent learning: the same MAC may live in two VLANs on two ports)."</summary>
public sealed class PerVlanLearningTests
{
    private static readonly MacAddress Station = Frames.Station(0xA);
    private static readonly MacAddress Other = Frames.Station(0xB);

    [Fact]
    public void TheSameMacInVlan10OnOnePortAndVlan20OnAnotherIsTwoEntries()
    {
        using var bridge = TwoVlanSwitch();

        bridge.Send(0, TaggedFrames.Build(MacAddress.Broadcast, Station, [], TaggedFrames.Body(46)));
        bridge.Send(1, TaggedFrames.Build(MacAddress.Broadcast, Station, [], TaggedFrames.Body(46)));

        var entries = bridge.Table.GetEntries().OrderBy(entry => entry.Vlan).Select(entry => (entry.Mac, entry.Vlan, entry.Port)).ToList();
        Assert.Equal([(Station, 10, 0), (Station, 20, 1)], entries);
        Assert.Equal(0, bridge.Table.Lookup(Station, 10));
        Assert.Equal(1, bridge.Table.Lookup(Station, 20));
    }

    [Theory]
    [InlineData(10, 0)]
    [InlineData(20, 1)]
    public void KnownUnicastGoesOnlyToThePortTheDestinationWasLearnedOnInThatVlan(int vlan, int learnedPort)
    {
        using var bridge = TwoVlanSwitch();
        bridge.Send(0, TaggedFrames.Build(MacAddress.Broadcast, Station, [], TaggedFrames.Body(46)));
        bridge.Send(1, TaggedFrames.Build(MacAddress.Broadcast, Station, [], TaggedFrames.Body(46)));
        bridge.DrainAll();

        var decision = bridge.Send(2, TaggedFrames.Build(Station, Other, [Tag.Dot1q(vlan)], TaggedFrames.Body(46)));

        Assert.Equal(ForwardingDecision.Forward(learnedPort, vlan), decision with { Ingress = default });
        Assert.Equal(TaggedFrames.Build(Station, Other, [], TaggedFrames.Body(46)), Assert.Single(bridge.Drain(learnedPort)));
        for (var port = 0; port < 5; port++)
        {
            if (port != learnedPort)
            {
                Assert.Empty(bridge.Drain(port));
            }
        }
    }

    [Fact]
    public void AStationKnownOnlyInVlan20IsUnknownUnicastInVlan10()
    {
        using var bridge = TwoVlanSwitch();
        bridge.Send(1, TaggedFrames.Build(MacAddress.Broadcast, Station, [], TaggedFrames.Body(46)));
        bridge.DrainAll();

        var decision = bridge.Send(3, TaggedFrames.Build(Station, Other, [], TaggedFrames.Body(46)));

        Assert.Equal(ForwardingDecision.Flood(FloodReason.UnknownUnicast, 10), decision with { Ingress = default });
        Assert.Equal(TaggedFrames.Build(Station, Other, [], TaggedFrames.Body(46)), Assert.Single(bridge.Drain(0)));
        Assert.Empty(bridge.Drain(1));
        Assert.Equal(TaggedFrames.Build(Station, Other, [Tag.Dot1q(10)], TaggedFrames.Body(46)), Assert.Single(bridge.Drain(2)));
        Assert.Empty(bridge.Drain(3));
        Assert.Empty(bridge.Drain(4));
    }

    [Theory]
    [InlineData("ff:ff:ff:ff:ff:ff")]
    [InlineData("01:00:5e:00:00:fb")]
    [InlineData("02:00:00:00:0b:0b")]
    public void AFloodInVlan10ReachesEveryPortCarryingItAndNoOther(string destination)
    {
        using var bridge = VlanSwitch.Of(
            PortVlan.Access(10),
            PortVlan.Access(20),
            PortVlan.Trunk([20, 30]),
            PortVlan.Trunk([10, 20], native: 10),
            PortVlan.Dot1qTunnel(100),
            PortVlan.Trunk([10], tpid: Tag.Dot1adTpid),
            PortVlan.Access(10),
            PortVlan.Trunk([1, 11], native: 1));
        var to = MacAddress.Parse(destination);
        var body = TaggedFrames.Body(46);

        bridge.Send(0, TaggedFrames.Build(to, Station, [], body));

        Assert.Empty(bridge.Drain(0));
        Assert.Empty(bridge.Drain(1));
        Assert.Empty(bridge.Drain(2));
        Assert.Equal(TaggedFrames.Build(to, Station, [], body), Assert.Single(bridge.Drain(3)));
        Assert.Empty(bridge.Drain(4));
        Assert.Equal(TaggedFrames.Build(to, Station, [Tag.Dot1ad(10)], body), Assert.Single(bridge.Drain(5)));
        Assert.Equal(TaggedFrames.Build(to, Station, [], body), Assert.Single(bridge.Drain(6)));
        Assert.Empty(bridge.Drain(7));
        Assert.Equal(1, bridge.Counters(0).Floods);
    }

    /// <summary>0: access 10, 1: access 20, 2: trunk 10,20, 3: access 10, 4: access 30.</summary>
    private static VlanSwitch TwoVlanSwitch() => VlanSwitch.Of(
        PortVlan.Access(10),
        PortVlan.Access(20),
        PortVlan.Trunk([10, 20]),
        PortVlan.Access(10),
        PortVlan.Access(30));
}
