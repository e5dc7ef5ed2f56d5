using System.Buffers.Binary;
using System.Net;
using UserBridge.Core.Frames;

namespace UserBridge.Integration.Tests;

/// <summary>
/// Overlays between switches: two UserBridges stretching a VLAN trunk over two VNIs, and a full mesh of three VTEPs
/// (two UserBridges and a kernel VTEP) in which a broadcast reaches every host exactly once.
/// </summary>
public sealed class OverlayMeshTests : IDisposable
{
    private const string Unused = "198.18.0.200";
    private const string Closing = "198.18.0.201";
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

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
        var hosts = Mesh();
        var files = hosts.Select((_, i) => Path.Combine(_a.Directory, $"arp{i}.pcap")).ToArray();
        var captures = hosts.Select((host, i) => Tcpdump.Watch(host.Ns, host.Interface, files[i], "arp")).ToList();
        try
        {
            // Each host asks once for an address nobody has (sent here: the kernel would repeat the request on its own
            // schedule): a broadcast into the mesh. A second round, for another address, closes the first: once every
            // host has seen every second request, a copy of a first one that went round the mesh would have come too.
            foreach (var unused in new[] { Unused, Closing })
            {
                foreach (var host in hosts)
                {
                    using var sender = NamespaceSockets.OpenPacket(host.Ns, host.Interface);
                    Assert.True(sender.Send(ArpRequest(MacOf(host), host.Address, unused)), $"{host.Address} could not send its ARP request");
                }

                foreach (var (capture, i) in captures.Select((capture, i) => (capture, i)))
                {
                    capture.WaitFor(lines => hosts.All(sender => lines.Any(line => IsRequest(line, unused, sender.Address))), $"every host's request for {unused} at {hosts[i].Address}", Deadline);
                }
            }
        }
        finally
        {
            captures.ForEach(capture => capture.Dispose());
        }

        foreach (var (file, i) in files.Select((file, i) => (file, i)))
        {
            var lines = Tcpdump.Read(file);
            foreach (var sender in hosts)
            {
                Assert.True(lines.Count(line => IsRequest(line, Unused, sender.Address)) == 1, $"{hosts[i].Address} saw {sender.Address}'s request other than once:\n{string.Join('\n', lines)}");
            }
        }
    }

    [Fact]
    public void AStaticRemoteSendsAStationsFramesToItsOneVtepInsteadOfEveryOne()
    {
        var hosts = Mesh();
        var pinned = MacAddress.Parse("02:00:00:00:00:77");
        var reply = Cli.Json("fdb", "add", pinned.ToString(), "--port", "vx", "--remote", OverlayUnderlay.Address(3), "--control", _a.Control, "-j");
        Assert.Equal(OverlayUnderlay.Address(3), reply.GetProperty("remote").GetString());
        var row = Cli.Json("fdb", "show", "--control", _a.Control, "--port", "vx", "-j").EnumerateArray().Single(entry => entry.GetProperty("mac").GetString() == pinned.ToString());
        Assert.True(row.GetProperty("static").GetBoolean());
        Assert.Equal(OverlayUnderlay.Address(3), row.GetProperty("remote").GetString());
        Assert.Contains("--remote applies to vxlan and geneve ports", Cli.Fail("fdb", "add", pinned.ToString(), "--port", "p1", "--remote", "198.19.0.3", "--control", _a.Control), StringComparison.Ordinal);
        Assert.Contains("is not an IPv4 address", Cli.Fail("fdb", "add", pinned.ToString(), "--port", "vx", "--remote", "2001:2::3", "--control", _a.Control), StringComparison.Ordinal);

        // Three frames to the pinned station reach the kernel VTEP's host only; without the pin they would go to both
        // VTEPs. A broadcast of the same EtherType follows them: it takes both paths, after anything sent before it.
        var files = new[] { Path.Combine(_a.Directory, "b.pcap"), Path.Combine(_a.Directory, "k.pcap") };
        var captures = new[] { Tcpdump.Watch(hosts[1].Ns, hosts[1].Interface, files[0], "ether proto 0x88b5", "-e"), Tcpdump.Watch(hosts[2].Ns, hosts[2].Interface, files[1], "ether proto 0x88b5", "-e") };
        try
        {
            using var sender = NamespaceSockets.OpenPacket(hosts[0].Ns, hosts[0].Interface);
            var frame = new byte[60];
            pinned.Write(frame);
            MacAddress.Parse(_a.Network.MacOf(1)).Write(frame.AsSpan(6));
            frame[12] = 0x88;
            frame[13] = 0xB5;
            for (var i = 0; i < 3; i++)
            {
                Assert.True(sender.Send(frame));
            }

            MacAddress.Broadcast.Write(frame);
            Assert.True(sender.Send(frame));
            captures[1].WaitFor(lines => FramesTo(lines, pinned) == 3 && FramesTo(lines, MacAddress.Broadcast) == 1, "the three frames to the pinned station and the broadcast at the kernel VTEP's host", Deadline);
            captures[0].WaitFor(lines => FramesTo(lines, MacAddress.Broadcast) == 1, "the broadcast at the other UserBridge's host", Deadline);
        }
        finally
        {
            Array.ForEach(captures, capture => capture.Dispose());
        }

        Assert.Equal(0, FramesTo(captures[0].Printed, pinned));
        Assert.Equal(3, FramesTo(captures[1].Printed, pinned));

        Cli.Run("fdb", "del", pinned.ToString(), "--control", _a.Control);
        Assert.DoesNotContain(Cli.Json("fdb", "show", "--control", _a.Control, "-j").EnumerateArray(), entry => entry.GetProperty("mac").GetString() == pinned.ToString());
    }

    /// <summary>Two UserBridges (hosts 1 and 3, VTEPs 1 and 2) and a kernel VTEP (host 9, VTEP 3) in a full mesh of VNI 42.</summary>
    private (string Ns, string Interface, string Address)[] Mesh()
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
        return
        [
            (_a.Network.Namespace(1), _a.Network.Tap(1), TestNetwork.Address(1)),
            (_b.Network.Namespace(3), _b.Network.Tap(3), TestNetwork.Address(3)),
            (kernelHost, kernelInterface, TestNetwork.Address(9)),
        ];
    }

    private static bool IsRequest(string line, string target, string sender) =>
        line.Contains($"Request who-has {target} tell {sender},", StringComparison.Ordinal);

    /// <summary>How many frames to <paramref name="destination"/> tcpdump printed with <c>-e</c> (each followed by its hex dump).</summary>
    private static int FramesTo(IReadOnlyList<string> lines, MacAddress destination) =>
        lines.Count(line => line.Length > 0 && !char.IsWhiteSpace(line[0]) && line.Contains($"> {destination},", StringComparison.Ordinal));

    private static MacAddress MacOf((string Ns, string Interface, string Address) host) =>
        MacAddress.Parse(Shell.Check("ip", "netns", "exec", host.Ns, "cat", $"/sys/class/net/{host.Interface}/address").Trim());

    /// <summary>An ARP request from <paramref name="sender"/> at <paramref name="senderAddress"/> for <paramref name="target"/>, broadcast.</summary>
    private static byte[] ArpRequest(MacAddress sender, string senderAddress, string target)
    {
        var frame = new byte[60];
        MacAddress.Broadcast.Write(frame);
        sender.Write(frame.AsSpan(6));
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(12), 0x0806);
        var arp = frame.AsSpan(14);
        BinaryPrimitives.WriteUInt16BigEndian(arp, 1);
        BinaryPrimitives.WriteUInt16BigEndian(arp[2..], 0x0800);
        arp[4] = 6;
        arp[5] = 4;
        BinaryPrimitives.WriteUInt16BigEndian(arp[6..], 1);
        sender.Write(arp[8..]);
        IPAddress.Parse(senderAddress).GetAddressBytes().CopyTo(arp[14..]);
        IPAddress.Parse(target).GetAddressBytes().CopyTo(arp[24..]);
        return frame;
    }

    private OverlayUnderlay Underlay()
    {
        Privileged.Require(["ping", "ip", "ethtool", "bridge"]);
        return _underlay = new OverlayUnderlay(_a.Network.Prefix);
    }
}
