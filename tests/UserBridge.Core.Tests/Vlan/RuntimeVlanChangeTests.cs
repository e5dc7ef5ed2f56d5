using UserBridge.Core.Frames;
using UserBridge.Core.Learning;
using UserBridge.Core.Ports;
using UserBridge.Core.Switching;

namespace UserBridge.Core.Tests.Vlan;

public sealed class RuntimeVlanChangeTests
{
    [Fact]
    public void ChangingOnePortsVlanMakesTheSwitchAwareAndForgetsOnlyThatPortsStations()
    {
        using var bridge = new Bridge(new BridgeOptions());
        bridge.AddPort(new MemoryPort("p1"));
        bridge.AddPort(new MemoryPort("p2"));
        var now = bridge.MacTable.NowMs;
        bridge.MacTable.Learn(MacTable.Key(MacAddress.Parse("02:00:00:00:00:01"), 0), 0, now);
        bridge.MacTable.Learn(MacTable.Key(MacAddress.Parse("02:00:00:00:00:02"), 0), 1, now);
        Assert.False(bridge.Snapshot.VlanAware);

        Assert.True(bridge.SetPortVlan("p1", PortVlan.Trunk([10, 20], native: 10)));

        var snapshot = bridge.Snapshot;
        Assert.True(snapshot.VlanAware);
        Assert.Equal(VlanMode.Trunk, snapshot.Find("p1")!.Vlan.Mode);
        Assert.Equal(VlanMode.Access, snapshot.Find("p2")!.Vlan.Mode);
        Assert.Equal([0], snapshot.FloodPortsOf(10));
        Assert.Equal([1], snapshot.FloodPortsOf(1));
        Assert.Equal(-1, bridge.MacTable.Lookup(MacAddress.Parse("02:00:00:00:00:01"), 0));
        Assert.Equal(1, bridge.MacTable.Lookup(MacAddress.Parse("02:00:00:00:00:02"), 0));

        Assert.True(bridge.SetPortVlan("p1", null));
        Assert.False(bridge.Snapshot.VlanAware);
        Assert.False(bridge.SetPortVlan("nope", null));
    }
}
