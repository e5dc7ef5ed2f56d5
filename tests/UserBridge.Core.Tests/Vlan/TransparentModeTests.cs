using UserBridge.Core.Forwarding;
using UserBridge.Core.Frames;
using UserBridge.Core.Ports;
using UserBridge.Core.Switching;

namespace UserBridge.Core.Tests.Vlan;

/// <summary>
/// Issue 4: "A switch with no VLAN settings forwards tagged frames unchanged, learning by (the frame's VID, MAC)",
/// and becomes VLAN-aware with <c>vlan_filtering = true</c>, every port then the default access port in VLAN 1.
/// </summary>
public sealed class TransparentModeTests
{
    private static readonly MacAddress Station = Frames.Station(0xA);

    [Theory]
    [InlineData(FrameKind.Untagged, 0)]
    [InlineData(FrameKind.PriorityTagged, 0)]
    [InlineData(FrameKind.TaggedAllowed, 10)]
    [InlineData(FrameKind.TaggedNotAllowed, 30)]
    [InlineData(FrameKind.DoubleTagged, 100)]
    public void WithoutVlanSettingsEveryFramePassesUnchangedAndIsLearnedUnderItsOuterVid(FrameKind kind, int learnedVid)
    {
        using var bridge = VlanSwitch.WithoutSettings(3, vlanFiltering: false);
        var frame = VlanMatrix.Build(kind);

        var decision = bridge.Send(1, frame);

        Assert.False(bridge.Snapshot.VlanAware);
        Assert.Equal(ForwardingDecision.Flood(FloodReason.Broadcast, learnedVid), decision);
        Assert.Equal(frame, Assert.Single(bridge.Drain(0)));
        Assert.Equal(frame, Assert.Single(bridge.Drain(2)));
        Assert.Empty(bridge.Drain(1));
        var entry = Assert.Single(bridge.Table.GetEntries());
        Assert.Equal((TaggedFrames.Sender, learnedVid, 1), (entry.Mac, entry.Vlan, entry.Port));
    }

    [Fact]
    public void WithoutVlanSettingsAStationLearnedUnderOneVidIsUnknownUnderAnother()
    {
        using var bridge = VlanSwitch.WithoutSettings(3, vlanFiltering: false);
        var body = TaggedFrames.Body(46);
        bridge.Send(1, TaggedFrames.Build(MacAddress.Broadcast, Station, [Tag.Dot1q(10)], body));
        bridge.DrainAll();
        var inVid20 = TaggedFrames.Build(Station, TaggedFrames.Sender, [Tag.Dot1q(20, pcp: 2)], body);
        var inVid10 = TaggedFrames.Build(Station, TaggedFrames.Sender, [Tag.Dot1q(10, pcp: 2)], body);

        var flooded = bridge.Send(0, inVid20);
        var floodedTo1 = bridge.Drain(1);
        var floodedTo2 = bridge.Drain(2);
        var forwarded = bridge.Send(0, inVid10);

        Assert.Equal(ForwardingDecision.Flood(FloodReason.UnknownUnicast, 20), flooded);
        Assert.Equal(inVid20, Assert.Single(floodedTo1));
        Assert.Equal(inVid20, Assert.Single(floodedTo2));
        Assert.Equal(ForwardingDecision.Forward(1, 10), forwarded);
        Assert.Equal(inVid10, Assert.Single(bridge.Drain(1)));
        Assert.Empty(bridge.Drain(2));
    }

    [Fact]
    public void OnePortWithVlanSettingsMakesTheWholeSwitchVlanAware()
    {
        var ports = new PortSlot?[]
        {
            new PortSlot(0, new MemoryPort("p0"), new PortCounters(), true),
            new PortSlot(1, new MemoryPort("p1"), new PortCounters(), true) { Vlan = PortVlan.Trunk([1, 10], native: 1), HasVlanSettings = true },
        };

        Assert.False(new BridgeSnapshot([ports[0]], 1).VlanAware);
        Assert.True(new BridgeSnapshot(ports, 1).VlanAware);
        Assert.True(new BridgeSnapshot([ports[0]], 1, vlanFiltering: true).VlanAware);
        foreach (var slot in ports)
        {
            slot!.Port.Dispose();
        }
    }

    [Fact]
    public void VlanFilteringPutsEveryPortWithoutSettingsIntoVlan1AsAnAccessPort()
    {
        using var bridge = VlanSwitch.WithoutSettings(3, vlanFiltering: true);

        Assert.True(bridge.Snapshot.VlanAware);
        Assert.Equal([0, 1, 2], bridge.Snapshot.FloodPortsOf(1));
        Assert.Empty(bridge.Snapshot.FloodPortsOf(10));
    }

    [Fact]
    public void VlanFilteringPassesAnUntaggedFrameUnchangedInVlan1()
    {
        using var bridge = VlanSwitch.WithoutSettings(3, vlanFiltering: true);
        var frame = VlanMatrix.Build(FrameKind.Untagged);

        var decision = bridge.Send(0, frame);

        Assert.Equal(ForwardingDecision.Flood(FloodReason.Broadcast, 1), decision with { Ingress = default });
        Assert.Equal(frame, Assert.Single(bridge.Drain(1)));
        Assert.Equal(frame, Assert.Single(bridge.Drain(2)));
        Assert.Equal(0, bridge.Table.Lookup(TaggedFrames.Sender, 1));
    }

    [Fact]
    public void VlanFilteringStripsAPriorityTagLikeAnyAccessPort()
    {
        using var bridge = VlanSwitch.WithoutSettings(2, vlanFiltering: true);

        bridge.Send(0, VlanMatrix.Build(FrameKind.PriorityTagged));

        Assert.Equal(VlanMatrix.Build(FrameKind.Untagged), Assert.Single(bridge.Drain(1)));
    }

    [Fact]
    public void VlanFilteringDropsAFrameTaggedWithVid10AsVlanTaggedOnAccess()
    {
        using var bridge = VlanSwitch.WithoutSettings(3, vlanFiltering: true);

        var decision = bridge.Send(0, VlanMatrix.Build(FrameKind.TaggedAllowed));

        Assert.Equal((ForwardingAction.Drop, DropReason.VlanTaggedOnAccess), (decision.Action, decision.DropReason));
        Assert.Equal("vlan_tagged_on_access", DropReasons.Name(decision.DropReason));
        Assert.Equal(1, bridge.Counters(0).Drops(DropReason.VlanTaggedOnAccess));
        Assert.Empty(bridge.Drain(1));
        Assert.Empty(bridge.Drain(2));
        Assert.Equal(0, bridge.Table.Count);
    }
}
