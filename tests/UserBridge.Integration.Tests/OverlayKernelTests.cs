using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace UserBridge.Integration.Tests;

/// <summary>
/// A VXLAN port against the Linux kernel's own VTEP. The underlay is two namespaces joined by a veth: UserBridge's
/// overlay socket lives in one (<c>netns</c>), a kernel <c>vxlan</c> device bridged to a host's veth in the other.
/// Host 1 sits behind a UserBridge TAP port, host 9 behind the kernel VTEP; both use the overlay's MTU (1450, as the
/// kernel sizes vxlan devices).
/// </summary>
public sealed class OverlayKernelTests : IDisposable
{
    private const int Vni = 42;
    private const int FarHost = 9;
    private const string OverlayMtu = "1450";
    private const string SwitchUnderlay = "198.19.0.1";
    private const string KernelUnderlay = "198.19.0.2";

    private readonly SwitchLab _lab = new();
    private readonly List<string> _namespaces = [];

    public void Dispose()
    {
        _lab.Dispose();
        foreach (var ns in _namespaces)
        {
            Shell.Run("ip", "netns", "delete", ns);
        }
    }

    private string Prefix => _lab.Network.Prefix;

    private string SwitchSide => $"{Prefix}-ua";

    private string KernelSide => $"{Prefix}-ub";

    [Fact]
    public void AHostBehindUserBridgeAndOneBehindAKernelVtepPingAndMoveTenMebibytes()
    {
        Privileged.Require(["ping", "ip", "ethtool"]);
        Underlay();
        KernelVtep();
        StartSwitch();

        Assert.Equal(0, _lab.Network.PingAddress(1, TestNetwork.Address(FarHost), count: 3, replyWaitSeconds: 2).ExitCode);
        Assert.Equal(0, Shell.Run("ip", "netns", "exec", _lab.Network.Namespace(FarHost), "ping", "-c", "2", "-W", "2", "-q", TestNetwork.Address(1)).ExitCode);

        var (sent, received) = NamespaceSockets.Transfer(_lab.Network, 1, FarHost, 5201, 10 * 1024 * 1024);
        Assert.Equal(sent, received);
        var (back, arrived) = NamespaceSockets.Transfer(_lab.Network, FarHost, 1, 5202, 10 * 1024 * 1024);
        Assert.Equal(back, arrived);

        var farMac = MacOf(_lab.Network.Namespace(FarHost), $"{Prefix}-f9");
        var fdb = Cli.Json("fdb", "show", "--control", _lab.Control, "-j").EnumerateArray().ToList();
        Assert.Contains(fdb, row => row.GetProperty("mac").GetString() == farMac && row.GetProperty("port").GetString() == "vx" && row.TryGetProperty("remote", out var remote) && remote.GetString() == KernelUnderlay);
        Assert.Contains(KernelUnderlay, Cli.Run("fdb", "show", "--control", _lab.Control), StringComparison.Ordinal);
        Assert.Equal(0, Drops("overlay_malformed"));
        Assert.Equal(0, Drops("unknown_vni"));
    }

    [Fact]
    public void MalformedPacketsAtTheOverlayPortAreDroppedAndCountedAndForwardingGoesOn()
    {
        Privileged.Require(["ping", "ip", "ethtool"]);
        Underlay();
        KernelVtep();
        StartSwitch();
        Assert.Equal(0, _lab.Network.PingAddress(1, TestNetwork.Address(FarHost), count: 2, replyWaitSeconds: 2).ExitCode);

        var frame = new byte[60];
        frame.AsSpan(0, 6).Fill(0xFF);
        frame[6] = 0x02;
        byte[][] malformed =
        [
            [],
            [0x08, 0, 0, 0],
            [0x08, 0, 0, 0, 0, 0, 0x2A, 0, 1, 2, 3],
            [0x00, 0, 0, 0, 0, 0, 0x2A, 0, .. frame],
            [0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, .. frame],
        ];
        byte[] unknownVni = [0x08, 0, 0, 0, 0, 0, 0x2B, 0, .. frame];
        using (var socket = NamespaceSockets.Run(KernelSide, () => new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp), "cannot open a UDP socket"))
        {
            var target = new IPEndPoint(IPAddress.Parse(SwitchUnderlay), 4789);
            foreach (var packet in malformed)
            {
                socket.SendTo(packet, target);
            }

            socket.SendTo(unknownVni, target);
        }

        Waiting.Until(() => Drops("overlay_malformed") == malformed.Length && Drops("unknown_vni") == 1, "the malformed packets to be counted", TimeSpan.FromSeconds(10));
        Assert.Equal(0, _lab.Network.PingAddress(1, TestNetwork.Address(FarHost), count: 2, replyWaitSeconds: 2).ExitCode);
        Assert.Equal("up", Cli.Json("port", "show", "--port", "vx", "--control", _lab.Control, "-j")[0].GetProperty("state").GetString());
    }

    private long Drops(string reason) =>
        Cli.Json("port", "show", "--port", "vx", "--control", _lab.Control, "-j")[0].GetProperty("drops").GetProperty(reason).GetInt64();

    /// <summary>The switch with host 1 behind a TAP port (MTU 1450) and the VXLAN port to the kernel VTEP.</summary>
    private void StartSwitch()
    {
        _lab.Start("--config", _lab.WriteConfig(_lab.TapPort(1) + $"""
            [[port]]
            name = "vx"
            type = "vxlan"
            vni = {Vni}
            netns = "{SwitchSide}"
            local = "{SwitchUnderlay}"
            remotes = ["{KernelUnderlay}"]

            """));
        _lab.Network.AddHost(1);
        Shell.Check("ip", "-n", _lab.Network.Namespace(1), "link", "set", "dev", _lab.Network.Tap(1), "mtu", OverlayMtu);
    }

    /// <summary>Two namespaces, the switch's and the kernel VTEP's, joined by a veth: 198.19.0.1 and .2.</summary>
    private void Underlay()
    {
        AddNamespace(SwitchSide);
        AddNamespace(KernelSide);
        Shell.Check("ip", "link", "add", $"{Prefix}-ua0", "netns", SwitchSide, "type", "veth", "peer", "name", $"{Prefix}-ub0", "netns", KernelSide);
        Shell.Check("ip", "-n", SwitchSide, "address", "add", $"{SwitchUnderlay}/24", "dev", $"{Prefix}-ua0");
        Shell.Check("ip", "-n", KernelSide, "address", "add", $"{KernelUnderlay}/24", "dev", $"{Prefix}-ub0");
        Shell.Check("ip", "-n", SwitchSide, "link", "set", $"{Prefix}-ua0", "up");
        Shell.Check("ip", "-n", KernelSide, "link", "set", $"{Prefix}-ub0", "up");

        // A veth passes checksums still to be done (CHECKSUM_PARTIAL) to the other namespace, where a UDP socket gets the
        // kernel VTEP's inner TCP checksums unfinished; a real wire has them done. tx off makes the kernel finish them.
        Shell.Check("ip", "netns", "exec", KernelSide, "ethtool", "-K", $"{Prefix}-ub0", "tx", "off");
    }

    /// <summary>The kernel's VTEP for VNI 42 in a bridge with a veth to host 9 (198.18.0.9, MTU 1450).</summary>
    private void KernelVtep()
    {
        var far = _lab.Network.Namespace(FarHost);
        AddNamespace(far);
        Shell.Check("ip", "-n", KernelSide, "link", "add", $"{Prefix}-vx", "type", "vxlan", "id", $"{Vni}", "local", KernelUnderlay, "remote", SwitchUnderlay, "dstport", "4789");
        Shell.Check("ip", "-n", KernelSide, "link", "add", $"{Prefix}-br", "type", "bridge");
        Shell.Check("ip", "-n", KernelSide, "link", "add", $"{Prefix}-b9", "type", "veth", "peer", "name", $"{Prefix}-f9", "netns", far);
        foreach (var member in new[] { $"{Prefix}-vx", $"{Prefix}-b9" })
        {
            Shell.Check("ip", "-n", KernelSide, "link", "set", member, "mtu", OverlayMtu, "master", $"{Prefix}-br", "up");
        }

        Shell.Check("ip", "-n", KernelSide, "link", "set", $"{Prefix}-br", "up");
        Shell.Check("ip", "netns", "exec", far, "sysctl", "-qw", $"net.ipv6.conf.{Prefix}-f9.disable_ipv6=1");
        Shell.Check("ip", "-n", far, "address", "add", $"{TestNetwork.Address(FarHost)}/24", "dev", $"{Prefix}-f9");
        Shell.Check("ip", "-n", far, "link", "set", $"{Prefix}-f9", "mtu", OverlayMtu, "up");
        Shell.Check("ip", "-n", far, "link", "set", "lo", "up");
    }

    private void AddNamespace(string ns)
    {
        Shell.Check("ip", "netns", "add", ns);
        _namespaces.Add(ns);
    }

    private static string MacOf(string ns, string interfaceName)
    {
        using var document = JsonDocument.Parse(Shell.Check("ip", "-n", ns, "-j", "link", "show", "dev", interfaceName));
        return document.RootElement[0].GetProperty("address").GetString()!;
    }
}
