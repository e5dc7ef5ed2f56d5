using System.Net.Sockets;
using System.Net;
using System.Text.Json;

namespace UserBridge.Integration.Tests;

/// <summary>
/// A VXLAN port against the Linux kernel's own VTEP: UserBridge's overlay socket lives in one underlay namespace
/// (<c>netns</c>), a kernel <c>vxlan</c> device bridged to host 9 in another. Host 1 sits behind a UserBridge TAP port;
/// both hosts use the overlay's MTU (1450, as the kernel sizes vxlan devices).
/// </summary>
public sealed class OverlayKernelTests : IDisposable
{
    private const int Vni = 42;
    private const int FarHost = 9;
    private const int SwitchVtep = 1;
    private const int KernelVtep = 2;

    private readonly SwitchLab _lab = new();
    private OverlayUnderlay? _underlay;

    public void Dispose()
    {
        _lab.Dispose();
        _underlay?.Dispose();
    }

    private string FarInterface => $"{_lab.Network.Prefix}-f9";

    [Fact]
    public void AHostBehindUserBridgeAndOneBehindAKernelVtepPingAndMoveTenMebibytes()
    {
        Start(extra: "ttl = 7\ntos = 32");

        // The outer packets carry the configured TTL and TOS.
        var capture = Path.Combine(_lab.Directory, "underlay.pcap");
        using (Tcpdump.Start(_underlay!.Namespace(SwitchVtep), $"{_lab.Network.Prefix}-v{SwitchVtep}", capture, $"udp and src host {OverlayUnderlay.Address(SwitchVtep)}"))
        {
            Assert.Equal(0, _lab.Network.PingAddress(1, TestNetwork.Address(FarHost), count: 3, replyWaitSeconds: 2).ExitCode);
        }

        var outer = Shell.Check("tcpdump", "-v", "-nn", "-r", capture);
        Assert.Contains("tos 0x20, ttl 7,", outer, StringComparison.Ordinal);
        Assert.Equal(0, Shell.Run("ip", "netns", "exec", _lab.Network.Namespace(FarHost), "ping", "-c", "2", "-W", "2", "-q", TestNetwork.Address(1)).ExitCode);

        var (sent, received) = NamespaceSockets.Transfer(_lab.Network, 1, FarHost, 5201, 10 * 1024 * 1024);
        Assert.Equal(sent, received);
        var (back, arrived) = NamespaceSockets.Transfer(_lab.Network, FarHost, 1, 5202, 10 * 1024 * 1024);
        Assert.Equal(back, arrived);

        using var link = JsonDocument.Parse(Shell.Check("ip", "-n", _lab.Network.Namespace(FarHost), "-j", "link", "show", "dev", FarInterface));
        var farMac = link.RootElement[0].GetProperty("address").GetString();
        var fdb = Cli.Json("fdb", "show", "--control", _lab.Control, "-j").EnumerateArray().ToList();
        Assert.Contains(fdb, row => row.GetProperty("mac").GetString() == farMac && row.GetProperty("port").GetString() == "vx"
            && row.TryGetProperty("remote", out var remote) && remote.GetString() == OverlayUnderlay.Address(KernelVtep));
        Assert.Contains(OverlayUnderlay.Address(KernelVtep), Cli.Run("fdb", "show", "--control", _lab.Control), StringComparison.Ordinal);
        Assert.Equal(0, Drops("overlay_malformed"));
        Assert.Equal(0, Drops("unknown_vni"));
    }

    [Fact]
    public void OverAnIpv6UnderlayTheSameHostsPingAndMoveTenMebibytes()
    {
        Start(ipv6: true);

        Assert.Equal(0, _lab.Network.PingAddress(1, TestNetwork.Address(FarHost), count: 3, replyWaitSeconds: 2).ExitCode);
        var (sent, received) = NamespaceSockets.Transfer(_lab.Network, 1, FarHost, 5201, 10 * 1024 * 1024);
        Assert.Equal(sent, received);
        var fdb = Cli.Json("fdb", "show", "--control", _lab.Control, "--port", "vx", "-j").EnumerateArray().ToList();
        Assert.Contains(fdb, row => row.TryGetProperty("remote", out var remote) && remote.GetString() == OverlayUnderlay.Address(KernelVtep, ipv6: true));
        Assert.Equal(0, Drops("overlay_too_big"));
    }

    [Theory]
    [InlineData(false, "239.1.1.1")]
    [InlineData(true, "ff05::4789")]
    public void OverAMulticastUnderlayWithoutRemotesTheHostsPingAndMoveTenMebibytes(bool ipv6, string group)
    {
        Start(ipv6, group);

        Assert.Equal(0, _lab.Network.PingAddress(1, TestNetwork.Address(FarHost), count: 3, replyWaitSeconds: 2).ExitCode);
        var (sent, received) = NamespaceSockets.Transfer(_lab.Network, 1, FarHost, 5201, 10 * 1024 * 1024);
        Assert.Equal(sent, received);
        var fdb = Cli.Json("fdb", "show", "--control", _lab.Control, "--port", "vx", "-j").EnumerateArray().ToList();
        Assert.Contains(fdb, row => row.TryGetProperty("remote", out var remote) && remote.GetString() == OverlayUnderlay.Address(KernelVtep, ipv6));
    }

    [Fact]
    public void AFrameTooBigForTheUnderlayIsDroppedAndCountedNotFragmented()
    {
        Start();
        Shell.Check("ip", "-n", _lab.Network.Namespace(1), "link", "set", "dev", _lab.Network.Tap(1), "mtu", "1500");

        // 1472 bytes of ICMP payload: a 1514-byte frame, 50 more than a 1500-byte underlay carries once encapsulated.
        Assert.NotEqual(0, Shell.Run("ip", "netns", "exec", _lab.Network.Namespace(1), "ping", "-c", "2", "-i", "0.2", "-W", "1", "-s", "1472", "-M", "do", "-q", TestNetwork.Address(FarHost)).ExitCode);
        Assert.Equal(2, Drops("overlay_too_big"));
        Assert.Equal(0, Shell.Run("ip", "netns", "exec", _lab.Network.Namespace(1), "ping", "-c", "2", "-i", "0.2", "-W", "2", "-s", "1422", "-M", "do", "-q", TestNetwork.Address(FarHost)).ExitCode);
    }

    [Fact]
    public void MalformedPacketsAtTheOverlayPortAreDroppedAndCountedAndForwardingGoesOn()
    {
        Start();
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
        using (var socket = NamespaceSockets.Run(_underlay!.Namespace(KernelVtep), () => new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp), "cannot open a UDP socket"))
        {
            var target = new IPEndPoint(IPAddress.Parse(OverlayUnderlay.Address(SwitchVtep)), 4789);
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

    /// <summary>
    /// The kernel VTEP with host 9, and the switch with host 1 behind a TAP port and its VXLAN port, over an IPv4 or IPv6
    /// underlay (the hosts' MTU 1450 or 1430).
    /// </summary>
    private void Start(bool ipv6 = false, string? group = null, string? extra = null)
    {
        Privileged.Require(["ping", "ip", "ethtool", "bridge"]);
        _underlay = new OverlayUnderlay(_lab.Network.Prefix);
        _underlay.AddVtep(SwitchVtep);
        _underlay.KernelVtep(KernelVtep, Vni, [SwitchVtep], _lab.Network.Namespace(FarHost), FarInterface, $"{TestNetwork.Address(FarHost)}/24", ipv6, group);
        var vnis = (group is null ? $"vni = {Vni}" : $"vni = {Vni}\ngroup = \"{group}\"") + (extra is null ? string.Empty : $"\n{extra}");
        _lab.Start("--config", _lab.WriteConfig(_lab.TapPort(1) + _underlay.VxlanPort(SwitchVtep, group is null ? [KernelVtep] : [], vnis, ipv6)));
        _lab.Network.AddHost(1);
        Shell.Check("ip", "-n", _lab.Network.Namespace(1), "link", "set", "dev", _lab.Network.Tap(1), "mtu", ipv6 ? OverlayUnderlay.HostMtuIpv6 : OverlayUnderlay.HostMtu);
    }
}
