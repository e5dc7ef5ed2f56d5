using UserBridge.Core.Forwarding;
using UserBridge.Core.Frames;
using UserBridge.Core.Learning;

namespace UserBridge.Core.Tests;

public sealed class ForwardingEngineTests
{
    private static readonly MacAddress StationA = Frames.Station(0xA);
    private static readonly MacAddress StationB = Frames.Station(0xB);

    [Fact]
    public void LearnsTheSourceOfAFrameOnItsIngressPort()
    {
        using var harness = new EngineHarness(portCount: 3);

        harness.Send(2, Frames.Ethernet(MacAddress.Broadcast, StationA));

        Assert.Equal(2, harness.Table.Lookup(StationA, 0));
        var entry = Assert.Single(harness.Table.GetEntries());
        Assert.Equal(new MacTableEntry(StationA, 0, 2, TimeSpan.Zero, IsStatic: false), entry);
        Assert.Equal(1, harness.Table.LearnedCount);
    }

    [Fact]
    public void ForwardsKnownUnicastToExactlyTheLearnedPort()
    {
        using var harness = new EngineHarness(portCount: 5);
        harness.Send(3, Frames.Ethernet(MacAddress.Broadcast, StationB));
        harness.DrainAll();
        var frame = Frames.Ethernet(StationB, StationA);

        var decision = harness.Send(0, frame);

        Assert.Equal(ForwardingDecision.Forward(3, 0), decision);
        Assert.Equal(frame, Assert.Single(harness.Drain(3)));
        foreach (var port in new[] { 0, 1, 2, 4 })
        {
            Assert.Empty(harness.Drain(port));
        }

        Assert.Equal(0, harness.Counters(0).Floods);
    }

    [Theory]
    [InlineData("ff:ff:ff:ff:ff:ff", FloodReason.Broadcast)]
    [InlineData("01:00:5e:00:00:fb", FloodReason.Multicast)]
    [InlineData("33:33:00:00:00:01", FloodReason.Multicast)]
    [InlineData("02:00:00:00:0b:0b", FloodReason.UnknownUnicast)]
    public void FloodsBroadcastMulticastAndUnknownUnicastToEveryOtherUpPortButNeverTheIngress(string destination, FloodReason reason)
    {
        using var harness = new EngineHarness(portCount: 5);
        harness.SetPortUp(3, isUp: false);
        var frame = Frames.Ethernet(MacAddress.Parse(destination), StationA);

        var decision = harness.Send(1, frame);

        Assert.Equal(ForwardingDecision.Flood(reason, 0), decision);
        foreach (var port in new[] { 0, 2, 4 })
        {
            Assert.Equal(frame, Assert.Single(harness.Drain(port)));
        }

        Assert.Empty(harness.Drain(1));
        Assert.Empty(harness.Drain(3));
        Assert.Equal(1, harness.Counters(1).Floods);
    }

    [Fact]
    public void DropsAFrameWhoseDestinationWasLearnedOnTheIngressPort()
    {
        using var harness = new EngineHarness(portCount: 3);
        harness.Send(1, Frames.Ethernet(MacAddress.Broadcast, StationB));
        harness.DrainAll();

        var decision = harness.Send(1, Frames.Ethernet(StationB, StationA));

        Assert.Equal(ForwardingDecision.Drop(DropReason.LocalDestination), decision);
        for (var port = 0; port < 3; port++)
        {
            Assert.Empty(harness.Drain(port));
        }

        Assert.Equal(1, harness.Counters(1).Drops(DropReason.LocalDestination));
    }

    [Fact]
    public void MovesAStationSeenOnANewPortAtOnce()
    {
        using var harness = new EngineHarness(portCount: 3);
        Assert.Equal(LearnResult.Learned, harness.Table.Learn(MacTable.Key(StationA, 0), 0, harness.Table.NowMs));

        harness.Send(2, Frames.Ethernet(MacAddress.Broadcast, StationA));
        harness.DrainAll();

        Assert.Equal(2, harness.Table.Lookup(StationA, 0));
        Assert.Equal(1, harness.Table.MovedCount);
        Assert.Equal(1, harness.Table.Count);
        var frame = Frames.Ethernet(StationA, StationB);
        Assert.Equal(ForwardingDecision.Forward(2, 0), harness.Send(1, frame));
        Assert.Equal(frame, Assert.Single(harness.Drain(2)));
        Assert.Empty(harness.Drain(0));
    }

    [Fact]
    public void LearnsTaggedFramesUnderTheirVidSoOneMacInTwoVlansIsTwoEntries()
    {
        using var harness = new EngineHarness(portCount: 3);
        harness.Send(0, Frames.Ethernet(MacAddress.Broadcast, StationA, vlan: 10));
        harness.Send(1, Frames.Ethernet(MacAddress.Broadcast, StationA, vlan: 20));
        harness.DrainAll();

        Assert.Equal(2, harness.Table.Count);
        Assert.Equal(0, harness.Table.MovedCount);
        Assert.Equal(0, harness.Table.Lookup(StationA, 10));
        Assert.Equal(1, harness.Table.Lookup(StationA, 20));
        Assert.Equal(-1, harness.Table.Lookup(StationA, 0));
        Assert.Equal(
            [(StationA, 10, 0), (StationA, 20, 1)],
            harness.Table.GetEntries().OrderBy(e => e.Vlan).Select(e => (e.Mac, e.Vlan, e.Port)));
    }

    [Fact]
    public void ForwardsTaggedFramesUnchangedWithinTheirVlan()
    {
        using var harness = new EngineHarness(portCount: 3);
        harness.Send(0, Frames.Ethernet(MacAddress.Broadcast, StationA, vlan: 10));
        harness.Send(1, Frames.Ethernet(MacAddress.Broadcast, StationA, vlan: 20));
        harness.DrainAll();
        var inVlan10 = Frames.Ethernet(StationA, StationB, vlan: 10);
        var inVlan20 = Frames.Ethernet(StationA, StationB, vlan: 20);

        Assert.Equal(ForwardingDecision.Forward(0, 10), harness.Send(2, inVlan10));
        Assert.Equal(ForwardingDecision.Forward(1, 20), harness.Send(2, inVlan20));

        Assert.Equal(inVlan10, Assert.Single(harness.Drain(0)));
        Assert.Equal(inVlan20, Assert.Single(harness.Drain(1)));
    }

    [Fact]
    public void FloodsAnUntaggedFrameToAMacKnownOnlyInAVlan()
    {
        using var harness = new EngineHarness(portCount: 3);
        harness.Send(0, Frames.Ethernet(MacAddress.Broadcast, StationA, vlan: 10));
        harness.DrainAll();

        var decision = harness.Send(2, Frames.Ethernet(StationA, StationB));

        Assert.Equal(ForwardingDecision.Flood(FloodReason.UnknownUnicast, 0), decision);
        Assert.Single(harness.Drain(0));
        Assert.Single(harness.Drain(1));
    }

    [Fact]
    public void ForwardsAHeaderOnlyFrameOfFourteenBytes()
    {
        using var harness = new EngineHarness(portCount: 2);
        var frame = Frames.Ethernet(MacAddress.Broadcast, StationA, payloadLength: 0);

        var decision = harness.Send(0, frame);

        Assert.Equal(ForwardingAction.Flood, decision.Action);
        Assert.Equal(frame, Assert.Single(harness.Drain(1)));
        Assert.Equal(0, harness.Counters(0).TotalDrops);
    }
}
