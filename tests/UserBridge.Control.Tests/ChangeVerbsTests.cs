using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging.Abstractions;
using UserBridge.Control.Management;
using UserBridge.Control.Runtime;
using UserBridge.Core.Frames;
using UserBridge.Core.Learning;
using UserBridge.Core.Ports;
using UserBridge.Core.Switching;

namespace UserBridge.Control.Tests;

/// <summary>The verbs that change a running switch (<c>fdb add|del|flush</c>, <c>port set</c>) and <c>stats</c>.</summary>
public sealed class ChangeVerbsTests : IDisposable
{
    private static readonly MacAddress Learned1 = MacAddress.Parse("02:00:00:00:00:01");
    private static readonly MacAddress Learned2 = MacAddress.Parse("02:00:00:00:00:02");
    private static readonly MacAddress Station = MacAddress.Parse("02:00:00:00:aa:bb");

    private readonly Bridge _bridge = new(new BridgeOptions());
    private readonly RunningSwitch _ports;

    public ChangeVerbsTests()
    {
        _ports = new RunningSwitch(_bridge, NullLogger.Instance, _ => { });
        _bridge.AddPort(new MemoryPort("p1"));
        _bridge.AddPort(new MemoryPort("p2"));
        var nowMs = _bridge.MacTable.NowMs;
        _bridge.MacTable.Learn(MacTable.Key(Learned1, 0), 0, nowMs);
        _bridge.MacTable.Learn(MacTable.Key(Learned2, 0), 1, nowMs);
    }

    public void Dispose()
    {
        _ports.Dispose();
        _bridge.Dispose();
    }

    [Fact]
    public void FdbAddPutsAStaticEntryThatFdbDelRemoves()
    {
        var added = Call("fdb add", new JsonObject { ["mac"] = Station.ToString(), ["port"] = "p2" }).AsObject();

        Assert.Equal("{\"mac\":\"02:00:00:00:aa:bb\",\"vlan\":0,\"port\":\"p2\",\"static\":true}", added.ToJsonString());
        Assert.Equal(1, _bridge.MacTable.Lookup(Station, 0));
        Assert.Contains(_bridge.MacTable.GetEntries(), entry => entry.Mac == Station && entry.IsStatic);

        var removed = Call("fdb del", new JsonObject { ["mac"] = Station.ToString() });

        Assert.Equal("{\"removed\":\"02:00:00:00:aa:bb\",\"vlan\":0}", removed.ToJsonString());
        Assert.Equal(-1, _bridge.MacTable.Lookup(Station, 0));
    }

    [Fact]
    public void FdbAddOnAVlanAwareSwitchTakesTheAccessPortsVlanAndRefusesOneItIsNotIn()
    {
        _bridge.SetPortVlan("p1", PortVlan.Access(10));

        Assert.Equal(10, (int?)Call("fdb add", new JsonObject { ["mac"] = Station.ToString(), ["port"] = "p1" })["vlan"]);
        Assert.Equal(0, _bridge.MacTable.Lookup(Station, 10));
        Assert.Equal("port p1 is not in VLAN 20; give a VLAN it carries", Error("fdb add", new JsonObject { ["mac"] = Station.ToString(), ["port"] = "p1", ["vlan"] = 20 }));
    }

    [Fact]
    public void FdbFlushForgetsLearnedEntriesOfTheGivenPortAndKeepsStaticOnes()
    {
        _bridge.MacTable.AddStatic(Station, 0, 1);

        Assert.Equal(1, (int?)Call("fdb flush", new JsonObject { ["port"] = "p2" })["flushed"]);
        Assert.Equal(0, _bridge.MacTable.Lookup(Learned1, 0));
        Assert.Equal(-1, _bridge.MacTable.Lookup(Learned2, 0));
        Assert.Equal(1, _bridge.MacTable.Lookup(Station, 0));

        Assert.Equal(1, (int?)Call("fdb flush", [])["flushed"]);
        Assert.Equal([Station], _bridge.MacTable.GetEntries().Select(entry => entry.Mac));
        Assert.Equal(0, (int?)Call("fdb flush", new JsonObject { ["vlan"] = 10 })["flushed"]);
    }

    [Fact]
    public void PortSetTakesAPortDownAndUpAndReturnsItsRow()
    {
        var down = Call("port set", new JsonObject { ["name"] = "p2", ["state"] = "down" });

        Assert.Equal("down", (string?)down["state"]);
        Assert.Equal("p2", (string?)down["name"]);
        Assert.False(_bridge.Snapshot.Find("p2")!.IsUp);
        Assert.True(_bridge.Snapshot.Find("p1")!.IsUp);
        Assert.Equal(-1, _bridge.MacTable.Lookup(Learned2, 0));

        Assert.Equal("up", (string?)Call("port set", new JsonObject { ["name"] = "p2", ["state"] = "up" })["state"]);
        Assert.True(_bridge.Snapshot.Find("p2")!.IsUp);
    }

    [Fact]
    public void PortSetChangesOnePortsVlanSettingsAndLeavesTheOthersAndTheirEntries()
    {
        var trunk = Call("port set", new JsonObject { ["name"] = "p2", ["mode"] = "trunk", ["allowed"] = "10,20", ["native"] = 10 });

        Assert.Equal("trunk", (string?)trunk["vlan_mode"]);
        Assert.Equal("10,20", (string?)trunk["vlan"]!["allowed"]);
        Assert.Equal(10, (int?)trunk["vlan"]!["native"]);
        var p2 = _bridge.Snapshot.Find("p2")!;
        Assert.True(p2.Vlan.Carries(20) && !p2.Vlan.Carries(30));
        Assert.Same(PortVlan.Default, _bridge.Snapshot.Find("p1")!.Vlan);
        Assert.Equal(0, _bridge.MacTable.Lookup(Learned1, 0));

        Assert.Equal(30, (int?)Call("port set", new JsonObject { ["name"] = "p1", ["vlan"] = 30 })["vlan"]!["vlan"]);
        Assert.Equal(VlanMode.Access, _bridge.Snapshot.Find("p1")!.Vlan.Mode);
    }

    [Fact]
    public void MirrorAddAttachesAMirrorThatMirrorShowListsAndMirrorDelRemoves()
    {
        _bridge.AddPort(new MemoryPort("p3"));

        var added = Call("mirror add", new JsonObject { ["sources"] = new JsonArray("p1", "p2"), ["output"] = "p3", ["direction"] = "in", ["vlan"] = 99 });

        Assert.Equal("{\"sources\":[\"p1\",\"p2\"],\"direction\":\"in\",\"output\":\"p3\",\"vlan\":99}", added.ToJsonString());
        Assert.Equal($"[{added.ToJsonString()}]", Call("mirror show", []).ToJsonString());
        Assert.True(_bridge.Snapshot.Find("p3")!.IsMirrorOutput);
        Assert.Equal("mirror: p3 is already a mirror output", Error("mirror add", new JsonObject { ["sources"] = "p1", ["output"] = "p3" }));

        Assert.Equal("{\"removed\":\"p3\"}", Call("mirror del", new JsonObject { ["output"] = "p3" }).ToJsonString());
        Assert.Equal("[]", Call("mirror show", []).ToJsonString());
        Assert.False(_bridge.Snapshot.Find("p3")!.IsMirrorOutput);
        Assert.Equal("no mirror sends to 'p3'", Error("mirror del", new JsonObject { ["output"] = "p3" }));
    }

    [Theory]
    [InlineData("{\"verb\":\"mirror add\",\"args\":{\"output\":\"p2\"}}", "mirror add needs sources")]
    [InlineData("{\"verb\":\"mirror add\",\"args\":{\"sources\":\"p1\"}}", "mirror add needs output")]
    [InlineData("{\"verb\":\"mirror add\",\"args\":{\"sources\":\"p1\",\"output\":\"p1\"}}", "mirror: the output p1 cannot also be a source")]
    [InlineData("{\"verb\":\"mirror add\",\"args\":{\"sources\":\"p1\",\"output\":\"nope\"}}", "mirror: no port named 'nope'")]
    [InlineData("{\"verb\":\"mirror add\",\"args\":{\"sources\":\"p1\",\"output\":\"p2\",\"direction\":\"up\"}}", "mirror add: direction \"up\" is not known")]
    [InlineData("{\"verb\":\"mirror add\",\"args\":{\"sources\":\"p1\",\"output\":\"p2\",\"vlan\":4095}}", "mirror add: vlan 4095 is not valid")]
    [InlineData("{\"verb\":\"mirror del\"}", "mirror del needs output")]
    [InlineData("{\"verb\":\"port set\",\"args\":{\"state\":\"up\"}}", "port set needs the port's name")]
    [InlineData("{\"verb\":\"port set\",\"args\":{\"name\":\"nope\",\"state\":\"up\"}}", "no port named 'nope'")]
    [InlineData("{\"verb\":\"port set\",\"args\":{\"name\":\"p1\",\"state\":\"sideways\"}}", "port set: state \"sideways\" is not known; use \"up\" or \"down\"")]
    [InlineData("{\"verb\":\"port set\",\"args\":{\"name\":\"p1\",\"speed\":10}}", "port set: unknown setting 'speed'; allowed: state, mode, vlan, allowed, native, tpid")]
    [InlineData("{\"verb\":\"port set\",\"args\":{\"name\":\"p1\",\"mode\":\"trunk\",\"vlan\":5}}", "port set: vlan does not apply to mode = \"trunk\"")]
    [InlineData("{\"verb\":\"port set\",\"args\":{\"name\":\"p1\",\"vlan\":5000}}", "port set: vlan")]
    [InlineData("{\"verb\":\"port set\",\"args\":{\"name\":\"p1\",\"mode\":\"10\",\"vlan\":20}}", "port set: mode \"10\" is not known; use \"access\", \"trunk\" or \"dot1q-tunnel\"")]
    [InlineData("{\"verb\":\"port set\",\"args\":{\"name\":\"p1\",\"mode\":{\"trunk\":true},\"vlan\":20}}", "mode must be a string")]
    [InlineData("{\"verb\":\"fdb add\",\"args\":{\"port\":\"p1\"}}", "fdb add needs a MAC address (aa:bb:cc:dd:ee:ff)")]
    [InlineData("{\"verb\":\"fdb add\",\"args\":{\"mac\":\"02:00:00:00:aa:bb\"}}", "fdb add needs the port the MAC is behind")]
    [InlineData("{\"verb\":\"fdb add\",\"args\":{\"mac\":\"not-a-mac\",\"port\":\"p1\"}}", "'not-a-mac' is not a MAC address (expected aa:bb:cc:dd:ee:ff)")]
    [InlineData("{\"verb\":\"fdb add\",\"args\":{\"mac\":\"02:00:00:00:aa:bb\",\"port\":\"nope\"}}", "no port named 'nope'")]
    [InlineData("{\"verb\":\"fdb add\",\"args\":{\"mac\":\"02:00:00:00:aa:bb\",\"port\":\"p1\",\"vlan\":5000}}", "VLAN 5000 is not valid; use 0 (the switch has no VLAN settings) or 1 to 4094")]
    [InlineData("{\"verb\":\"fdb del\",\"args\":{\"mac\":\"02:00:00:00:aa:bb\"}}", "02:00:00:00:aa:bb is not in the MAC table in VLAN 0 (give --vlan for another VLAN)")]
    [InlineData("{\"verb\":\"fdb flush\",\"args\":{\"port\":\"nope\"}}", "no port named 'nope'")]
    [InlineData("{\"verb\":\"stats\",\"args\":{\"port\":\"nope\"}}", "no port named 'nope'")]
    public void ABadChangeIsRefusedWithItsReasonAndChangesNothing(string request, string error)
    {
        var before = _bridge.Snapshot;

        var reply = JsonNode.Parse(ManagementProtocol.Handle(_ports, request))!.AsObject();

        Assert.False((bool?)reply["ok"]);
        Assert.StartsWith(error, (string?)reply["error"], StringComparison.Ordinal);
        Assert.Same(before, _bridge.Snapshot);
        Assert.Equal(2, _bridge.MacTable.Count);
    }

    [Fact]
    public void StatsSumsThePortsAndReportsTheMacTable()
    {
        var (p1, p2) = ((MemoryPort)_bridge.Snapshot.Find("p1")!.Port, (MemoryPort)_bridge.Snapshot.Find("p2")!.Port);
        _bridge.Start();
        p1.Inject(TestFrames.Ethernet(Learned2, Learned1, 100));
        p1.Inject(TestFrames.Ethernet(Learned2, Learned1, 60));
        p1.Inject(new byte[10]);
        p2.Inject(TestFrames.Ethernet(Learned1, Learned2, 80));
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while ((p1.SentCount < 1 || p2.SentCount < 2 || _bridge.Snapshot.Find("p1")!.Counters.TotalDrops < 1) && DateTime.UtcNow < deadline)
        {
            Thread.Sleep(5);
        }

        var all = Call("stats", []);

        Assert.Equal(2, (int?)all["ports"]);
        Assert.Equal(0, (int?)all["monitors"]);
        Assert.Equal(4, (long?)all["rx_frames"]);
        Assert.Equal(250, (long?)all["rx_bytes"]);
        Assert.Equal(3, (long?)all["tx_frames"]);
        Assert.Equal(1, (long?)all["drops"]!["too_short"]);
        Assert.Equal(2, (int?)all["mac_table"]!["entries"]);
        Assert.Equal(2, (long?)all["mac_table"]!["learned"]);
        Assert.Equal(65536, (int?)all["mac_table"]!["capacity"]);

        var one = Call("stats", new JsonObject { ["port"] = "p2" });

        Assert.Equal("p2", (string?)one["port"]);
        Assert.Equal(1, (long?)one["rx_frames"]);
        Assert.Equal(2, (long?)one["tx_frames"]);
        Assert.Equal(1, (int?)one["mac_entries"]);
        Assert.Equal(0, (long?)one["drops"]!["too_short"]);
        Assert.Null(one["mac_table"]);
    }

    private JsonNode Call(string verb, JsonObject args)
    {
        var node = JsonNode.Parse(ManagementProtocol.Handle(_ports, ManagementProtocol.Request(verb, args)))!.AsObject();
        Assert.True((bool?)node["ok"], node.ToJsonString());
        return node["result"]!;
    }

    private string? Error(string verb, JsonObject args)
    {
        var node = JsonNode.Parse(ManagementProtocol.Handle(_ports, ManagementProtocol.Request(verb, args)))!.AsObject();
        Assert.False((bool?)node["ok"], node.ToJsonString());
        return (string?)node["error"];
    }
}
