using System.Globalization;
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

    private readonly TestNetwork _network = new();
    private readonly string _directory;
    private readonly string _control;
    private readonly List<QemuGuest> _guests = [];
    private SwitchProcess? _switch;

    public QemuSwitchTests()
    {
        _directory = Directory.CreateTempSubdirectory($"{_network.Prefix}-").FullName;
        _control = Path.Combine(_directory, "control.sock");
    }

    private string Prefix => _network.Prefix;

    [Fact]
    public void TwoVmsOnStreamSocketsPingAndMoveOneMebibyteIntact()
    {
        Privileged.RequireGuestsOnSwitch();
        StartSwitch(StreamPort("vm1", "vm1.sock"), StreamPort("vm2", "vm2.sock"));
        var receiver = Guest("a", StreamClient("vm1.sock"), MacA, AddressA, GuestScripts.Receiver + Linger);
        var sender = Guest("b", StreamClient("vm2.sock"), MacB, AddressB, GuestScripts.Sender(AddressA) + Linger);

        var fdb = FdbWhileTransferred(sender, receiver);
        Assert.Equal("vm1", PortOf(fdb, MacA));
        Assert.Equal("vm2", PortOf(fdb, MacB));
    }

    [Fact]
    public void TwoVmsShareOneMultiSocketEachOnItsOwnPort()
    {
        Privileged.RequireGuestsOnSwitch();
        StartSwitch(StreamPort("vms", "vms.sock", "multi = true"));
        var receiver = Guest("a", StreamClient("vms.sock"), MacA, AddressA, GuestScripts.Receiver + Linger);
        var sender = Guest("b", StreamClient("vms.sock"), MacB, AddressB, GuestScripts.Sender(AddressA) + Linger);

        var fdb = FdbWhileTransferred(sender, receiver);
        var ports = new[] { PortOf(fdb, MacA), PortOf(fdb, MacB) };
        Assert.Equal(["vms-1", "vms-2"], ports.Order());
    }

    [Fact]
    public void TwoVmsOnTheirOwnTapsWithDefaultOffloadsWorkAsPacketPortsTagsIncluded()
    {
        Privileged.RequireGuestsOnSwitch();
        var tapA = $"{Prefix}-t1";
        var tapB = $"{Prefix}-t2";
        StartSwitch(PacketPort("vma", tapA), PacketPort("vmb", tapB));
        var receiver = Guest("a", OwnTap(tapA), MacA, AddressA, GuestScripts.Receiver + Linger, vlans: ["10@198.18.10.11/24"]);
        var sender = Guest(
            "b",
            OwnTap(tapB),
            MacB,
            AddressB,
            GuestScripts.Sender(AddressA) + "\n" + GuestScripts.PingUntilAnswered("198.18.10.11", "PING10-OK") + Linger,
            vlans: ["10@198.18.10.12/24"]);

        sender.WaitForLine("PING10-OK", GuestDeadline);

        // Learned under VID 10 on the right ports: the tags the kernel stripped on the VMs' TAPs were put back.
        var vlan10 = Fdb("--vlan", "10");
        Assert.Equal("vma", PortOf(vlan10, MacA));
        Assert.Equal("vmb", PortOf(vlan10, MacB));
        var ports = Ports();
        Assert.Equal("packet", ports.EnumerateArray().Single(p => p.GetProperty("name").GetString() == "vma").GetProperty("type").GetString());
        GuestScripts.AssertTransfer(sender.WaitForResult(GuestDeadline), receiver.WaitForResult(GuestDeadline));
    }

    [Fact]
    public void TcpFromAVmWithOffloadsReachesAVmOnASocketThroughSoftwareSegmentation()
    {
        Privileged.RequireGuestsOnSwitch();
        var tapB = $"{Prefix}-t2";
        StartSwitch(StreamPort("vma", "vma.sock"), PacketPort("vmb", tapB));
        var receiver = Guest("a", StreamClient("vma.sock"), MacA, AddressA, GuestScripts.Receiver);
        var sender = Guest("b", OwnTap(tapB), MacB, AddressB, GuestScripts.Sender(AddressA) + Linger);

        sender.WaitForLine("SENT", GuestDeadline);
        var vmb = Ports().EnumerateArray().Single(p => p.GetProperty("name").GetString() == "vmb");
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
        StartSwitch(TapPort("p1", _network.Tap(1)), TapPort("p2", _network.Tap(2)));
        var receiver = Guest("a", Macvtap(_network.Tap(1), "m1", MacA), MacA, AddressA, GuestScripts.Receiver + Linger, fd3Path: TapDevice($"{Prefix}-m1"));
        var sender = Guest("b", Macvtap(_network.Tap(2), "m2", MacB), MacB, AddressB, GuestScripts.Sender(AddressA) + Linger, fd3Path: TapDevice($"{Prefix}-m2"));

        var fdb = FdbWhileTransferred(sender, receiver);
        Assert.Equal("p1", PortOf(fdb, MacA));
        Assert.Equal("p2", PortOf(fdb, MacB));
    }

    [Fact]
    public void AVmAndANamespaceBehindATapPortReachEachOther()
    {
        Privileged.RequireGuestsOnSwitch("ping");
        StartSwitch(TapPort("host", _network.Tap(1)), StreamPort("vm1", "vm1.sock"));
        _network.AddHost(1);
        var guest = Guest("a", StreamClient("vm1.sock"), MacA, AddressA, GuestScripts.PingUntilAnswered(TestNetwork.Address(1)) + Linger);

        guest.WaitForLine("PING-OK", GuestDeadline);
        var ping = _network.Ping(1, 11);
        Assert.True(ping.ExitCode == 0, $"the namespace could not ping the VM: {ping.Output}{ping.Error}");
        var fdb = Fdb();
        Assert.Equal("host", PortOf(fdb, _network.MacOf(1)));
        Assert.Equal("vm1", PortOf(fdb, MacA));
        Assert.Equal(0, guest.WaitForResult(GuestDeadline).ExitCode);
    }

    [Fact]
    public void DgramAndConnectRoleVmsTalkAgainAfterTheSwitchRestarts()
    {
        Privileged.RequireGuestsOnSwitch();
        var dgram = $"""
            [[port]]
            name = "vma"
            type = "qemu-dgram"
            path = "{Path.Combine(_directory, "a.sock")}"
            """;
        var connect = $"""
            [[port]]
            name = "vmb"
            type = "qemu-stream"
            role = "connect"
            path = "{Path.Combine(_directory, "b.sock")}"
            """;
        StartSwitch(dgram, connect);
        string[] dgramNetdev =
        [
            "-netdev", $"dgram,id=n0,local.type=unix,local.path={Path.Combine(_directory, "a-qemu.sock")},remote.type=unix,remote.path={Path.Combine(_directory, "a.sock")}",
            .. QemuGuest.VirtioNic("n0", MacA),
        ];
        string[] serverNetdev = ["-netdev", $"stream,id=n0,server=on,addr.type=unix,addr.path={Path.Combine(_directory, "b.sock")}", .. QemuGuest.VirtioNic("n0", MacB)];
        var a = Guest("a", dgramNetdev, MacA, AddressA, PingForever(AddressB));
        var b = Guest("b", serverNetdev, MacB, AddressB, PingForever(AddressA));
        a.WaitForLine(IsOk(0), "a successful ping of VM b", GuestDeadline);
        b.WaitForLine(IsOk(0), "a successful ping of VM a", GuestDeadline);

        var (exitCode, _) = _switch!.Terminate(TimeSpan.FromSeconds(10));
        Assert.Equal(0, exitCode);
        _switch.Dispose();
        var before = (LastPing(a), LastPing(b));
        _switch = SwitchProcess.StartSwitch("--config", Path.Combine(_directory, "switch.toml"), "--control", _control);

        a.WaitForLine(IsOk(before.Item1 + 1), $"a ping after ping {before.Item1} that succeeds through the restarted switch", GuestDeadline);
        b.WaitForLine(IsOk(before.Item2 + 1), $"a ping after ping {before.Item2} that succeeds through the restarted switch", GuestDeadline);
    }

    [Fact]
    public void KillingOneVmLeavesTheOthersForwardingAndRestartingItBringsItsPortBack()
    {
        Privileged.RequireGuestsOnSwitch("ping");
        var tapB = $"{Prefix}-t2";
        StartSwitch(TapPort("host", _network.Tap(1)), StreamPort("vma", "vma.sock"), PacketPort("vmb", tapB));
        _network.AddHost(1);
        var a = Guest("a", StreamClient("vma.sock"), MacA, AddressA, PingForever(TestNetwork.Address(1)));
        var b = Guest("b", OwnTap(tapB), MacB, AddressB, PingForever(TestNetwork.Address(1)));
        a.WaitForLine(IsOk(0), "VM a reaching the namespace", GuestDeadline);
        b.WaitForLine(IsOk(0), "VM b reaching the namespace", GuestDeadline);

        b.Dispose();
        WaitFor(() => !TestNetwork.InterfaceExists(tapB), $"QEMU's TAP {tapB} to disappear with VM b");
        WaitFor(() => PortState("vmb") == "down", "port vmb to go down when its interface vanished");
        var afterKill = LastPing(a);
        a.WaitForLine(IsOk(afterKill + 2), "VM a still reaching the namespace after VM b was killed", GuestDeadline);
        Assert.Equal(0, _network.Ping(1, 11).ExitCode);

        var b2 = Guest("b2", OwnTap(tapB), MacB, AddressB, GuestScripts.PingUntilAnswered(TestNetwork.Address(1)) + Linger);
        b2.WaitForLine("PING-OK", GuestDeadline);
        Assert.Equal("up", PortState("vmb"));
        Assert.Equal("vmb", PortOf(Fdb(), MacB));
        Assert.Equal(0, b2.WaitForResult(GuestDeadline).ExitCode);
    }

    /// <summary>Keeps a guest up for a while after its script's work, so the test can look at the switch.</summary>
    private const string Linger = "\nsleep 4\n";

    /// <summary>Waits for the transfer's last lines, reads the MAC table while both guests are still up, then checks the transfer.</summary>
    private JsonElement FdbWhileTransferred(QemuGuest sender, QemuGuest receiver)
    {
        sender.WaitForLine("SENT", GuestDeadline);
        receiver.WaitForLine("RX-SHA256", GuestDeadline);
        var fdb = Fdb();
        GuestScripts.AssertTransfer(sender.WaitForResult(GuestDeadline), receiver.WaitForResult(GuestDeadline));
        return fdb;
    }

    public void Dispose()
    {
        foreach (var guest in _guests)
        {
            guest.Dispose();
        }

        _switch?.Dispose();
        _network.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    private static string PingForever(string address) => $$"""
        i=0
        while [ "$i" -lt 400 ]; do
            i=$((i + 1))
            if ping -c 1 -W 1 {{address}} >/dev/null; then echo "PING $i OK"; else echo "PING $i FAIL"; fi
            sleep 0.3
        done
        """;

    private static Func<string, bool> IsOk(int after) => line =>
    {
        var words = line.Split(' ');
        return words.Length == 3 && words[0] == "PING" && words[2] == "OK" && int.Parse(words[1], CultureInfo.InvariantCulture) > after;
    };

    private static int LastPing(QemuGuest guest) =>
        guest.Console.Where(l => l.StartsWith("PING ", StringComparison.Ordinal)).Select(l => int.Parse(l.Split(' ')[1], CultureInfo.InvariantCulture)).DefaultIfEmpty(0).Max();

    private void StartSwitch(params string[] ports)
    {
        var config = Path.Combine(_directory, "switch.toml");
        File.WriteAllText(config, $"name = \"{Prefix}\"\n\n" + string.Join("\n\n", ports) + "\n");
        _switch = SwitchProcess.StartSwitch("--config", config, "--control", _control);
    }

    private string StreamPort(string name, string socket, string extra = "") => $"""
        [[port]]
        name = "{name}"
        type = "qemu-stream"
        path = "{Path.Combine(_directory, socket)}"
        {extra}
        """;

    private static string PacketPort(string name, string interfaceName) => $"""
        [[port]]
        name = "{name}"
        type = "packet"
        interface = "{interfaceName}"
        """;

    private static string TapPort(string name, string interfaceName) => $"""
        [[port]]
        name = "{name}"
        type = "tap"
        interface = "{interfaceName}"
        """;

    private string[] StreamClient(string socket) =>
        ["-netdev", $"stream,id=n0,server=off,addr.type=unix,addr.path={Path.Combine(_directory, socket)}"];

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
        var path = Path.Combine(_directory, $"tap{index}");
        Shell.Check("mknod", path, "c", numbers[0], numbers[1]);
        return path;
    }

    private QemuGuest Guest(string name, string[] netdev, string mac, string address, string script, IReadOnlyList<string>? vlans = null, string? fd3Path = null)
    {
        string[] arguments = netdev.Contains("-device") ? netdev : [.. netdev, .. QemuGuest.VirtioNic("n0", mac)];
        var guest = QemuGuest.Start($"{Prefix}-{name}", arguments, mac, $"{address}/24", script, vlans, fd3Path);
        _guests.Add(guest);
        return guest;
    }

    private JsonElement Fdb(params string[] filter) => Cli.Json(["fdb", "show", "--control", _control, "-j", .. filter]);

    private JsonElement Ports() => Cli.Json("port", "show", "--control", _control, "-j");

    private string? PortState(string name) =>
        Ports().EnumerateArray().Where(p => p.GetProperty("name").GetString() == name).Select(p => p.GetProperty("state").GetString()).FirstOrDefault();

    private static string? PortOf(JsonElement fdb, string mac)
    {
        var rows = fdb.EnumerateArray().Where(row => row.GetProperty("mac").GetString() == mac).ToList();
        Assert.True(rows.Count == 1, $"expected {mac} once in fdb show, got: {fdb}");
        return rows[0].GetProperty("port").GetString();
    }

    private static void WaitFor(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}");
            Thread.Sleep(50);
        }
    }
}
