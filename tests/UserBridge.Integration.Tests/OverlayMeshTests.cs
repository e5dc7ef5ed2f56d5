namespace UserBridge.Integration.Tests;

/// <summary>
/// Overlays between switches: two UserBridges stretching a VLAN trunk over two VNIs, and a full mesh of three VTEPs
/// (two UserBridges and a kernel VTEP) in which a broadcast reaches every host exactly once.
/// </summary>
public sealed class OverlayMeshTests : IDisposable
{
    private const string Unused = "198.18.0.200";

    private readonly SwitchLab _a = new();
    private readonly SwitchLab _b = new();
    private OverlayUnderlay? _underlay;

    public void Dispose()
    {
        _a.Dispose();
        _b.Dispose();
        _underlay?.Dispose();
    }

    [Fact]
    public void TwoSwitchesStretchAVlanTrunkOverTwoVnisAndKeepTheVlansApart()
    {
        var underlay = Underlay();
        underlay.AddVtep(1);
        underlay.AddVtep(2);
        const string Map = "vni_map = \"10:1010,20:1020\"";
        _a.Start("--config", _a.WriteConfig(_a.TapPort(1, "vlan = 10") + _a.TapPort(2, "vlan = 20") + underlay.VxlanPort(1, [2], Map)));
        _b.Start("--config", _b.WriteConfig(_b.TapPort(3, "vlan = 10") + _b.TapPort(4, "vlan = 20") + underlay.VxlanPort(2, [1], Map)));
        _a.Network.AddHost(1);
        _a.Network.AddHost(2);
        _b.Network.AddHost(3);
        _b.Network.AddHost(4);

        Assert.Equal(0, _a.Network.PingAddress(1, TestNetwork.Address(3), count: 2, replyWaitSeconds: 2).ExitCode);
        Assert.Equal(0, _a.Network.PingAddress(2, TestNetwork.Address(4), count: 2, replyWaitSeconds: 2).ExitCode);
        Assert.NotEqual(0, _a.Network.PingAddress(1, TestNetwork.Address(4), count: 1, replyWaitSeconds: 1).ExitCode);
        Assert.NotEqual(0, _a.Network.PingAddress(2, TestNetwork.Address(3), count: 1, replyWaitSeconds: 1).ExitCode);

        // Each far station is learned in its own VLAN, behind the other switch's VTEP.
        var fdb = Cli.Json("fdb", "show", "--control", _a.Control, "--port", "vx", "-j").EnumerateArray().ToList();
        Assert.Contains(fdb, row => row.GetProperty("mac").GetString() == _b.Network.MacOf(3) && row.GetProperty("vlan").GetInt32() == 10 && row.GetProperty("remote").GetString() == OverlayUnderlay.Address(2));
        Assert.Contains(fdb, row => row.GetProperty("mac").GetString() == _b.Network.MacOf(4) && row.GetProperty("vlan").GetInt32() == 20 && row.GetProperty("remote").GetString() == OverlayUnderlay.Address(2));
    }

    [Fact]
    public void ABroadcastReachesEveryHostOfAThreeVtepMeshExactlyOnce()
    {
        Privileged.Require(["tcpdump"]);
        var underlay = Underlay();
        var kernelHost = _a.Network.Namespace(9);
        var kernelInterface = $"{_a.Network.Prefix}-f9";
        underlay.AddVtep(1);
        underlay.AddVtep(2);
        underlay.KernelVtep(3, 42, [1, 2], kernelHost, kernelInterface, $"{TestNetwork.Address(9)}/24");
        _a.Start("--config", _a.WriteConfig(_a.TapPort(1) + underlay.VxlanPort(1, [2, 3], "vni = 42")));
        _b.Start("--config", _b.WriteConfig(_b.TapPort(3) + underlay.VxlanPort(2, [1, 3], "vni = 42")));
        _a.Network.AddHost(1);
        _b.Network.AddHost(3);
        var hosts = new (string Ns, string Interface, string Address)[]
        {
            (_a.Network.Namespace(1), _a.Network.Tap(1), TestNetwork.Address(1)),
            (_b.Network.Namespace(3), _b.Network.Tap(3), TestNetwork.Address(3)),
            (kernelHost, kernelInterface, TestNetwork.Address(9)),
        };

        var files = hosts.Select((_, i) => Path.Combine(_a.Directory, $"arp{i}.pcap")).ToArray();
        var captures = hosts.Select((host, i) => Tcpdump.Start(host.Ns, host.Interface, files[i], "arp")).ToList();
        try
        {
            // Each host asks for an address nobody has: its ARP requests are broadcasts into the mesh.
            foreach (var host in hosts)
            {
                Shell.Run("ip", "netns", "exec", host.Ns, "ping", "-c", "1", "-W", "1", "-q", Unused);
            }

            Thread.Sleep(500);
        }
        finally
        {
            captures.ForEach(capture => capture.Dispose());
        }

        var seen = files.Select(Tcpdump.Read).ToArray();
        foreach (var sender in hosts)
        {
            var requests = seen.Select(lines => lines.Count(line => line.Contains($"Request who-has {Unused} tell {sender.Address},", StringComparison.Ordinal))).ToArray();
            var sent = requests[Array.FindIndex(hosts, host => host.Address == sender.Address)];
            Assert.True(sent >= 1, $"{sender.Address} sent no ARP request");
            Assert.All(requests, count => Assert.Equal(sent, count));
        }
    }

    private OverlayUnderlay Underlay()
    {
        Privileged.Require(["ping", "ip", "ethtool", "bridge"]);
        return _underlay = new OverlayUnderlay(_a.Network.Prefix);
    }
}
