
namespace UserBridge.Integration.Tests;

/// <summary>
/// 802.1Q against the kernel's own VLAN devices: QEMU guests (Debian's kernel, 8021q) on access and trunk ports,
/// namespaces behind TAP ports in VLAN 1 and VLAN 30, all addresses of VLANs 10, 20 and 30 in one IP subnet so
/// only the switch keeps them apart.
/// </summary>
public sealed class VlanGuestTests : IDisposable
{
    private static readonly TimeSpan GuestDeadline = TimeSpan.FromMinutes(4);
    private readonly GuestLab _lab = new();

    private TestNetwork Network => _lab.Network;

    [Fact]
    public void AccessAndTrunkPortsKeepVlansApartAndTheTrunkMeetsKernelVlanDevices()
    {
        Privileged.RequireGuestsOnSwitch("tcpdump", "ping");
        _lab.StartSwitch(
            _lab.StreamPort("a10", "a10.sock", "mode = \"access\"\nvlan = 10"),
            _lab.StreamPort("b10", "b10.sock", "mode = \"access\"\nvlan = 10"),
            _lab.StreamPort("c20", "c20.sock", "mode = \"access\"\nvlan = 20"),
            _lab.StreamPort("trunk", "trunk.sock", "mode = \"trunk\"\nallowed = \"1,10,20\"\nnative = 1"),
            GuestLab.TapPort("h1", Network.Tap(1), "mode = \"access\"\nvlan = 1"),
            GuestLab.TapPort("h30", Network.Tap(2), "mode = \"access\"\nvlan = 30"));

        // h1: VLAN 1, its own subnet; h30: VLAN 30 but in the subnet of VLANs 10 and 20.
        Network.AddHostWithAddress(1, "198.18.1.1/24");
        Network.AddHostWithAddress(2, "198.18.0.30/24");
        var capture = _lab.Socket("h1.pcap");
        using var tcpdump = Tcpdump.Start(Network.Namespace(1), Network.Tap(1), capture, "ip or arp");

        var a = Guest("a", "a10", "52:54:00:18:02:11", "198.18.0.11/24", GuestScripts.Reachability(8, ("198.18.0.12", true), ("198.18.0.14", true), ("198.18.0.13", false)));
        var b = Guest("b", "b10", "52:54:00:18:02:12", "198.18.0.12/24", GuestScripts.Reachability(8, ("198.18.0.11", true)));
        var c = Guest("c", "c20", "52:54:00:18:02:13", "198.18.0.13/24", "ip addr add 198.18.20.13/24 dev eth0\n" + GuestScripts.Reachability(8, ("198.18.20.14", true), ("198.18.0.11", false), ("198.18.0.12", false)));
        var t = Guest(
            "t",
            "trunk",
            "52:54:00:18:02:14",
            "198.18.1.14/24",
            GuestScripts.Reachability(8, ("198.18.1.1", true), ("198.18.0.11", true), ("198.18.20.13", true), ("198.18.0.13", false)),
            ["10@198.18.0.14/24", "20@198.18.20.14/24"]);

        // While the guests are up (they linger after their checks), the switch shows its VLANs.
        t.WaitForLine("REACH-198.18.20.13", GuestDeadline);
        var vlans = Cli.Json("vlan", "show", "--control", _lab.ControlPath, "-j");
        var vlan10 = vlans.EnumerateArray().Single(v => v.GetProperty("vlan").GetInt32() == 10).GetProperty("ports").EnumerateArray()
            .Select(p => (p.GetProperty("port").GetString(), p.GetProperty("tagged").GetBoolean())).OrderBy(p => p.Item1, StringComparer.Ordinal).ToList();
        Assert.Equal([("a10", false), ("b10", false), ("trunk", true)], vlan10);
        var trunk = Cli.Json("port", "show", "--control", _lab.ControlPath, "-j").EnumerateArray().Single(p => p.GetProperty("name").GetString() == "trunk");
        Assert.Equal("trunk", trunk.GetProperty("vlan_mode").GetString());

        foreach (var guest in new[] { a, b, c, t })
        {
            var result = guest.WaitForResult(GuestDeadline);
            Assert.True(result.ExitCode == 0, $"guest {guest.Name}: a reachability check failed.\n{result}");
        }

        // VLAN 30 shares the subnet of VLAN 10 but reaches nobody: not the access ports of 10, not the trunk.
        Assert.NotEqual(0, Network.PingAddress(2, "198.18.0.11").ExitCode);
        Assert.NotEqual(0, Network.PingAddress(2, "198.18.0.14").ExitCode);

        tcpdump.Dispose();
        var seen = Tcpdump.Read(capture);
        Assert.Contains(seen, line => line.Contains("198.18.1.14", StringComparison.Ordinal));
        Assert.DoesNotContain(seen, line => line.Contains("198.18.0.", StringComparison.Ordinal) || line.Contains("198.18.20.", StringComparison.Ordinal));

    }

    public void Dispose() => _lab.Dispose();

    private QemuGuest Guest(string name, string port, string mac, string address, string script, IReadOnlyList<string>? vlans = null) =>
        _lab.Guest(name, _lab.StreamClient(port + ".sock"), mac, address, script, vlans);
}
