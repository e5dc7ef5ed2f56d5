using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging.Abstractions;
using UserBridge.Control.Management;
using UserBridge.Control.Runtime;
using UserBridge.Core.Ports;
using UserBridge.Core.Switching;

namespace UserBridge.Control.Tests;

public sealed class VlanShowTests : IDisposable
{
    private readonly Bridge _bridge = new(new BridgeOptions());
    private readonly RunningSwitch _ports;

    public VlanShowTests() => _ports = new RunningSwitch(_bridge, NullLogger.Instance, _ => { });

    [Fact]
    public void ATransparentSwitchListsNoVlansAndSaysSoPerPort()
    {
        _bridge.AddPort(new MemoryPort("p1"));

        Assert.Empty(Call("vlan show").AsArray());
        Assert.Equal("transparent", (string?)Call("port show").AsArray()[0]!["vlan_mode"]);
    }

    [Fact]
    public void ListsEachVlanWithItsMembersTaggedOrUntaggedLikeBridgeVlanShow()
    {
        _bridge.AddPort(new MemoryPort("a10"), isUp: true, PortVlan.Access(10));
        _bridge.AddPort(new MemoryPort("a20"), isUp: true, PortVlan.Access(20));
        _bridge.AddPort(new MemoryPort("trunk"), isUp: true, PortVlan.Trunk([1, 10, 20], native: 1));
        _bridge.AddPort(new MemoryPort("all"), isUp: true, PortVlan.Trunk(Enumerable.Range(1, 4094)));

        var rows = Call("vlan show").AsArray();

        Assert.Equal([1, 10, 20], rows.Select(r => (int)r!["vlan"]!));
        var vlan10 = rows[1]!["ports"]!.AsArray().Select(p => ((string?)p!["port"], (bool)p["tagged"]!)).ToList();
        Assert.Equal([("a10", false), ("trunk", true), ("all", true)], vlan10);
        var vlan1 = rows[0]!["ports"]!.AsArray().Select(p => ((string?)p!["port"], (bool)p["tagged"]!)).ToList();
        Assert.Equal([("trunk", false), ("all", true)], vlan1);

        var ports = Call("port show").AsArray();
        Assert.Equal("trunk", (string?)ports[2]!["vlan_mode"]);
        Assert.Equal("1,10,20", (string?)ports[2]!["vlan"]!["allowed"]);
        Assert.Equal(1, (int?)ports[2]!["vlan"]!["native"]);
        Assert.Equal("access", (string?)ports[0]!["vlan_mode"]);
        Assert.Equal(10, (int?)ports[0]!["vlan"]!["vlan"]);
        Assert.Equal("1-4094", (string?)ports[3]!["vlan"]!["allowed"]);
    }

    public void Dispose()
    {
        _ports.Dispose();
        _bridge.Dispose();
    }

    private JsonNode Call(string verb)
    {
        var reply = JsonNode.Parse(ManagementProtocol.Handle(_ports, ManagementProtocol.Request(verb)))!.AsObject();
        Assert.True((bool?)reply["ok"], reply.ToJsonString());
        return reply["result"]!;
    }
}
