using System.Net;
using System.Security.Cryptography;
using System.Text.Json;

namespace UserBridge.Integration.Tests;

/// <summary>
/// QEMU guests (Debian's kernel under TCG) on the real `userbridge` program, attached each way the switch
/// offers: unix stream sockets (listen, multi, connect), dgram sockets, their own TAPs through AF_PACKET with
/// QEMU's default offloads, and macvtap passthru on a switch-owned TAP.
/// </summary>
public sealed class QemuSwitchTests : IDisposable
{
    private static readonly TimeSpan GuestDeadline = TimeSpan.FromMinutes(3);
    private const string MacA = "52:54:00:18:01:11";
    private const string MacB = "52:54:00:18:01:12";
    private const string AddressA = "198.18.0.11";
    private const string AddressB = "198.18.0.12";

    private readonly GuestLab _lab = new();

    private string Prefix => _lab.Prefix;

    private TestNetwork Network => _lab.Network;

    [Fact]
    public void TwoVmsOnStreamSocketsPingAndMoveOneMebibyteIntact()
    {
        Privileged.RequireGuestsOnSwitch();
        _lab.StartSwitch(_lab.StreamPort("vm1", "vm1.sock"), _lab.StreamPort("vm2", "vm2.sock"));
        var receiver = _lab.Guest("a", _lab.StreamClient("vm1.sock"), MacA, $"{AddressA}/24", GuestScripts.Receiver + Linger);
        var sender = _lab.Guest("b", _lab.StreamClient("vm2.sock"), MacB, $"{AddressB}/24", GuestScripts.Sender(AddressA) + Linger);

        var fdb = FdbWhileTransferred(sender, receiver);
        Assert.Equal("vm1", GuestLab.PortOf(fdb, MacA));
        Assert.Equal("vm2", GuestLab.PortOf(fdb, MacB));
    }

    [Fact]
    public void TwoVmsShareOneMultiSocketEachOnItsOwnPort()
    {
        Privileged.RequireGuestsOnSwitch();
        _lab.StartSwitch(_lab.StreamPort("vms", "vms.sock", "multi = true"));
        var receiver = _lab.Guest("a", _lab.StreamClient("vms.sock"), MacA, $"{AddressA}/24", GuestScripts.Receiver + Linger);
        var sender = _lab.Guest("b", _lab.StreamClient("vms.sock"), MacB, $"{AddressB}/24", GuestScripts.Sender(AddressA) + Linger);

        var fdb = FdbWhileTransferred(sender, receiver);
        var ports = new[] { GuestLab.PortOf(fdb, MacA), GuestLab.PortOf(fdb, MacB) };
        Assert.Equal(["vms-1", "vms-2"], ports.Order());
    }

    [Fact]
    public void TwoVmsOnTheirOwnTapsWithDefaultOffloadsWorkAsPacketPortsTagsIncluded()
    {
        Privileged.RequireGuestsOnSwitch();
        var tapA = $"{Prefix}-t1";
        var tapB = $"{Prefix}-t2";
        _lab.StartSwitch(GuestLab.PacketPort("vma", tapA), GuestLab.PacketPort("vmb", tapB));
        var receiver = _lab.Guest("a", OwnTap(tapA), MacA, $"{AddressA}/24", GuestScripts.Receiver + Linger, vlans: ["10@198.18.10.11/24"]);
        var sender = _lab.Guest(
            "b",
            OwnTap(tapB),
            MacB,
            $"{AddressB}/24",
            GuestScripts.Sender(AddressA) + "\n" + GuestScripts.PingUntilAnswered("198.18.10.11", "PING10-OK") + Linger,
            vlans: ["10@198.18.10.12/24"]);

        sender.WaitForLine("PING10-OK", GuestDeadline);

        // Learned under VID 10 on the right ports: the tags the kernel stripped on the VMs' TAPs were put back.
        var vlan10 = _lab.Fdb("--vlan", "10");
        Assert.Equal("vma", GuestLab.PortOf(vlan10, MacA));
        Assert.Equal("vmb", GuestLab.PortOf(vlan10, MacB));
        var ports = _lab.Ports();
        Assert.Equal("packet", ports.EnumerateArray().Single(p => p.GetProperty("name").GetString() == "vma").GetProperty("type").GetString());
        GuestScripts.AssertTransfer(sender.WaitForResult(GuestDeadline), receiver.WaitForResult(GuestDeadline));
    }

    [Fact]
    public void TcpFromAVmWithOffloadsReachesAVmOnASocketThroughSoftwareSegmentation()
    {
        Privileged.RequireGuestsOnSwitch();
        var tapB = $"{Prefix}-t2";
        _lab.StartSwitch(_lab.StreamPort("vma", "vma.sock"), GuestLab.PacketPort("vmb", tapB));
        var receiver = _lab.Guest("a", _lab.StreamClient("vma.sock"), MacA, $"{AddressA}/24", GuestScripts.Receiver);
        var sender = _lab.Guest("b", OwnTap(tapB), MacB, $"{AddressB}/24", GuestScripts.Sender(AddressA) + Linger);

        sender.WaitForLine("SENT", GuestDeadline);
        var vmb = _lab.Ports().EnumerateArray().Single(p => p.GetProperty("name").GetString() == "vmb");
        GuestScripts.AssertTransfer(sender.WaitForResult(GuestDeadline), receiver.WaitForResult(GuestDeadline));

        // The VM's TCP came as GSO frames (far fewer frames than the ~730 segments of 1 MiB at MSS 1448) and
        // left through the socket port as wire-sized segments.
        Assert.InRange(vmb.GetProperty("rx_frames").GetInt64(), 1, 700);
        Assert.Equal(0, vmb.GetProperty("drops").GetProperty("bad_offload").GetInt64());
    }

    [Fact]
    public void TwoVmsThroughMacvtapPassthruOnSwitchOwnedTaps()
    {
        Privileged.RequireGuestsOnSwitch();
        _lab.StartSwitch(GuestLab.TapPort("p1", Network.Tap(1)), GuestLab.TapPort("p2", Network.Tap(2)));
        var receiver = _lab.Guest("a", Macvtap(Network.Tap(1), "m1", MacA), MacA, $"{AddressA}/24", GuestScripts.Receiver + Linger, fd3Path: TapDevice($"{Prefix}-m1"));
        var sender = _lab.Guest("b", Macvtap(Network.Tap(2), "m2", MacB), MacB, $"{AddressB}/24", GuestScripts.Sender(AddressA) + Linger, fd3Path: TapDevice($"{Prefix}-m2"));

        var fdb = FdbWhileTransferred(sender, receiver);
        Assert.Equal("p1", GuestLab.PortOf(fdb, MacA));
        Assert.Equal("p2", GuestLab.PortOf(fdb, MacB));
    }

    [Fact]
    public void AVmAndANamespaceBehindATapPortReachEachOther()
    {
        Privileged.RequireGuestsOnSwitch("ping");
        _lab.StartSwitch(GuestLab.TapPort("host", Network.Tap(1)), _lab.StreamPort("vm1", "vm1.sock"));
        Network.AddHost(1);
        var guest = _lab.Guest("a", _lab.StreamClient("vm1.sock"), MacA, $"{AddressA}/24", GuestScripts.PingUntilAnswered(TestNetwork.Address(1)) + Linger);

        guest.WaitForLine("PING-OK", GuestDeadline);
        var ping = Network.Ping(1, 11);
        Assert.True(ping.ExitCode == 0, $"the namespace could not ping the VM: {ping.Output}{ping.Error}");
        var fdb = _lab.Fdb();
        Assert.Equal("host", GuestLab.PortOf(fdb, Network.MacOf(1)));
        Assert.Equal("vm1", GuestLab.PortOf(fdb, MacA));
        Assert.Equal(0, guest.WaitForResult(GuestDeadline).ExitCode);
    }

    [Fact]
    public void TcpBothWaysBetweenANamespaceOnAnOffloadTapAndAVmOnASocketArrivesIntact()
    {
        Privileged.RequireGuestsOnSwitch();
        _lab.StartSwitch(GuestLab.TapPort("host", Network.Tap(1)), _lab.StreamPort("vm1", "vm1.sock"));
        Network.AddHost(1);
        using var listener = NamespaceSockets.Listen(Network.Namespace(1), new IPEndPoint(IPAddress.Parse(TestNetwork.Address(1)), 5001));
        var guest = _lab.Guest("a", _lab.StreamClient("vm1.sock"), MacA, $"{AddressA}/24", GuestScripts.Receiver + "\n" + GuestScripts.Sender(TestNetwork.Address(1)));

        // Namespace -> VM: the host stack's 64 KiB GSO frames leave through the socket port as wire-sized segments.
        var sent = RandomNumberGenerator.GetBytes(GuestScripts.TransferBytes);
        NamespaceSockets.SendWhenListening(Network.Namespace(1), new IPEndPoint(IPAddress.Parse(AddressA), 5001), sent, GuestDeadline);

        // VM -> namespace: the VM's segments arrive at the offload TAP.
        using var received = new MemoryStream();
        using (var connection = listener.Accept())
        {
            // Busybox nc half-closes at the end of its input and waits for our side to close before it exits.
            var buffer = new byte[65536];
            int read;
            while ((read = connection.Receive(buffer)) > 0)
            {
                received.Write(buffer, 0, read);
            }
        }

        var result = guest.WaitForResult(GuestDeadline);
        Assert.True(result.ExitCode == 0, $"the guest failed: {result}");
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(sent)), result.ValueOf("RX-SHA256"));
        Assert.Equal(result.ValueOf("TX-SHA256"), Convert.ToHexStringLower(SHA256.HashData(received.ToArray())));
        var host = _lab.Ports().EnumerateArray().Single(p => p.GetProperty("name").GetString() == "host");
        Assert.True(host.GetProperty("offload").GetBoolean());
        Assert.True(host.GetProperty("rx_bytes").GetInt64() / host.GetProperty("rx_frames").GetInt64() > 1514, $"the namespace sent no GSO frames: {host}");
    }

    [Fact]
    public void DgramAndConnectRoleVmsTalkAgainAfterTheSwitchRestarts()
    {
        Privileged.RequireGuestsOnSwitch();
        var dgram = $"""
            [[port]]
            name = "vma"
            type = "qemu-dgram"
            path = "{_lab.Socket("a.sock")}"
            """;
        var connect = $"""
            [[port]]
            name = "vmb"
            type = "qemu-stream"
            role = "connect"
            path = "{_lab.Socket("b.sock")}"
            """;
        _lab.StartSwitch(dgram, connect);
        string[] dgramNetdev =
        [
            "-netdev", $"dgram,id=n0,local.type=unix,local.path={_lab.Socket("a-qemu.sock")},remote.type=unix,remote.path={_lab.Socket("a.sock")}",
            .. QemuGuest.VirtioNic("n0", MacA),
        ];
        string[] serverNetdev = ["-netdev", $"stream,id=n0,server=on,addr.type=unix,addr.path={_lab.Socket("b.sock")}", .. QemuGuest.VirtioNic("n0", MacB)];
        var a = _lab.Guest("a", dgramNetdev, MacA, $"{AddressA}/24", GuestScripts.PingForever(AddressB));
        var b = _lab.Guest("b", serverNetdev, MacB, $"{AddressB}/24", GuestScripts.PingForever(AddressA));
        a.WaitForLine(GuestScripts.PingOkAfter(0), "a successful ping of VM b", GuestDeadline);
        b.WaitForLine(GuestScripts.PingOkAfter(0), "a successful ping of VM a", GuestDeadline);

        var before = (GuestScripts.LastPing(a), GuestScripts.LastPing(b));
        _lab.RestartSwitch();

        a.WaitForLine(GuestScripts.PingOkAfter(before.Item1 + 1), $"a ping after ping {before.Item1} that succeeds through the restarted switch", GuestDeadline);
        b.WaitForLine(GuestScripts.PingOkAfter(before.Item2 + 1), $"a ping after ping {before.Item2} that succeeds through the restarted switch", GuestDeadline);
    }

    [Fact]
    public void KillingOneVmLeavesTheOthersForwardingAndRestartingItBringsItsPortBack()
    {
        Privileged.RequireGuestsOnSwitch("ping");
        var tapB = $"{Prefix}-t2";
        _lab.StartSwitch(GuestLab.TapPort("host", Network.Tap(1)), _lab.StreamPort("vma", "vma.sock"), GuestLab.PacketPort("vmb", tapB));
        Network.AddHost(1);
        var a = _lab.Guest("a", _lab.StreamClient("vma.sock"), MacA, $"{AddressA}/24", GuestScripts.PingForever(TestNetwork.Address(1)));
        var b = _lab.Guest("b", OwnTap(tapB), MacB, $"{AddressB}/24", GuestScripts.PingForever(TestNetwork.Address(1)));
        a.WaitForLine(GuestScripts.PingOkAfter(0), "VM a reaching the namespace", GuestDeadline);
        b.WaitForLine(GuestScripts.PingOkAfter(0), "VM b reaching the namespace", GuestDeadline);

        b.Dispose();
        WaitFor(() => !TestNetwork.InterfaceExists(tapB), $"QEMU's TAP {tapB} to disappear with VM b");
        WaitFor(() => _lab.PortState("vmb") == "down", "port vmb to go down when its interface vanished");
        var afterKill = GuestScripts.LastPing(a);
        a.WaitForLine(GuestScripts.PingOkAfter(afterKill + 2), "VM a still reaching the namespace after VM b was killed", GuestDeadline);
        Assert.Equal(0, Network.Ping(1, 11).ExitCode);

        var b2 = _lab.Guest("b2", OwnTap(tapB), MacB, $"{AddressB}/24", GuestScripts.PingUntilAnswered(TestNetwork.Address(1)) + Linger);
        b2.WaitForLine("PING-OK", GuestDeadline);
        Assert.Equal("up", _lab.PortState("vmb"));
        Assert.Equal("vmb", GuestLab.PortOf(_lab.Fdb(), MacB));
        Assert.Equal(0, b2.WaitForResult(GuestDeadline).ExitCode);
    }

    /// <summary>Keeps a guest up for a while after its script's work, so the test can look at the switch.</summary>
    private const string Linger = "\nsleep 4\n";

    /// <summary>Waits for the transfer's last lines, reads the MAC table while both guests are still up, then checks the transfer.</summary>
    private JsonElement FdbWhileTransferred(QemuGuest sender, QemuGuest receiver)
    {
        sender.WaitForLine("SENT", GuestDeadline);
        receiver.WaitForLine("RX-SHA256", GuestDeadline);
        var fdb = _lab.Fdb();
        GuestScripts.AssertTransfer(sender.WaitForResult(GuestDeadline), receiver.WaitForResult(GuestDeadline));
        return fdb;
    }

    public void Dispose() => _lab.Dispose();

    private static string[] OwnTap(string interfaceName) =>
        ["-netdev", $"tap,id=n0,ifname={interfaceName},script=no,downscript=no"];

    /// <summary>A macvtap in passthru mode on the switch's TAP, created now; QEMU gets its /dev/tapN as fd 3.</summary>
    private string[] Macvtap(string switchTap, string suffix, string mac)
    {
        var name = $"{Prefix}-{suffix}";
        Shell.Check("ip", "link", "add", "link", switchTap, "name", name, "type", "macvtap", "mode", "passthru");
        Shell.Check("ip", "link", "set", "dev", name, "address", mac, "up");
        return ["-netdev", "tap,id=n0,fd=3"];
    }

    /// <summary>The character device of a macvtap, made here (no udev in test machines) from its sysfs numbers.</summary>
    private string TapDevice(string macvtap)
    {
        var index = File.ReadAllText($"/sys/class/net/{macvtap}/ifindex").Trim();
        var numbers = File.ReadAllText($"/sys/class/net/{macvtap}/macvtap/tap{index}/dev").Trim().Split(':');
        var path = _lab.Socket($"tap{index}");
        Shell.Check("mknod", path, "c", numbers[0], numbers[1]);
        return path;
    }

    private static void WaitFor(Func<bool> condition, string what) => Waiting.Until(condition, what, TimeSpan.FromSeconds(30));
}
