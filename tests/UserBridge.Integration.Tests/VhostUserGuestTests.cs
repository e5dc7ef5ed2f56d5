using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text.Json;

namespace UserBridge.Integration.Tests;

/// <summary>
/// QEMU guests on vhost-user ports: the guest's RAM a shared memfd the switch maps, its virtio-net rings read and
/// written by the switch (QEMU 7.2 under TCG, NICs without MSI-X). VM to VM with offloads end to end, to a namespace
/// on a TAP, to a VM on a stream socket, QEMU listening while the switch restarts, a VM restarting, VLANs, and a
/// guest with two queue pairs.
/// </summary>
public sealed class VhostUserGuestTests : IDisposable
{
    private static readonly TimeSpan GuestDeadline = TimeSpan.FromMinutes(3);
    private const int TenMebibytes = 10 * 1024 * 1024;
    private const int MaxWireFrame = 1514;
    private const string MacA = "52:54:00:18:0a:11";
    private const string MacB = "52:54:00:18:0a:12";
    private const string AddressA = "198.18.0.11";
    private const string AddressB = "198.18.0.12";

    /// <summary>Keeps a guest up for a while after its script's work, so the test can look at the switch.</summary>
    private const string Linger = "\nsleep 4\n";

    private readonly GuestLab _lab = new();

    private TestNetwork Network => _lab.Network;

    public void Dispose() => _lab.Dispose();

    [Fact]
    public void TwoVmsOnVhostUserPortsPingAndMoveTenMebibytesIntactAsWholeGsoFrames()
    {
        Privileged.RequireGuestsOnSwitch();
        _lab.StartSwitch(_lab.VhostUserPort("vm1", "vm1.sock"), _lab.VhostUserPort("vm2", "vm2.sock"));
        var receiver = _lab.Guest("a", _lab.VhostUser("vm1.sock", MacA), MacA, $"{AddressA}/24", GuestScripts.Receiver + Linger);
        var sender = _lab.Guest("b", _lab.VhostUser("vm2.sock", MacB), MacB, $"{AddressB}/24", GuestScripts.Sender(AddressA, TenMebibytes) + Linger);

        // Both guests are up while the receiver hashes what it got: the switch's view of the transfer.
        sender.WaitForLine("TX-SECONDS", GuestDeadline);
        var fdb = _lab.Fdb();
        var vm1 = Port("vm1");
        var vm2 = Port("vm2");
        var sent = sender.WaitForResult(GuestDeadline);
        GuestScripts.AssertTransfer(sent, receiver.WaitForResult(GuestDeadline), TenMebibytes);
        Report("vm2 -> vm1", TenMebibytes, sent);

        Assert.Equal("vm1", GuestLab.PortOf(fdb, MacA));
        Assert.Equal("vm2", GuestLab.PortOf(fdb, MacB));
        foreach (var port in new[] { vm1, vm2 })
        {
            Assert.Equal("vhost-user", port.GetProperty("type").GetString());
            Assert.Equal("up", port.GetProperty("state").GetString());
            Assert.True(port.GetProperty("offload").GetBoolean(), $"the guest took no offloads: {port}");
            var vhost = port.GetProperty("vhost-user");
            var negotiated = vhost.GetProperty("negotiated").EnumerateArray().Select(f => f.GetString()).ToList();
            foreach (var feature in new[] { "VERSION_1", "MRG_RXBUF", "RING_EVENT_IDX", "CSUM", "GUEST_CSUM", "HOST_TSO4", "GUEST_TSO4" })
            {
                Assert.Contains(feature, negotiated);
            }

            Assert.Equal(2, vhost.GetProperty("queues").GetArrayLength());
            Assert.Equal(0, port.GetProperty("drops").GetProperty("bad_offload").GetInt64());
        }

        // Offloads end to end: the sender's TCP came in as GSO frames and went to the receiver whole.
        Assert.True(AverageFrame(vm2, "rx") > MaxWireFrame, $"the sending guest's frames came as wire-sized segments: {vm2}");
        Assert.True(AverageFrame(vm1, "tx") > MaxWireFrame, $"the receiving guest got wire-sized segments: {vm1}");
    }

    [Fact]
    public async Task AVmOnVhostUserAndANamespaceOnATapPingAndMoveTcpBothWaysIntact()
    {
        Privileged.RequireGuestsOnSwitch("ping");
        _lab.StartSwitch(GuestLab.TapPort("host", Network.Tap(1)), _lab.VhostUserPort("vm1", "vm1.sock"));
        Network.AddHost(1);
        var hostAddress = TestNetwork.Address(1);
        using var listener = NamespaceSockets.Listen(Network.Namespace(1), new IPEndPoint(IPAddress.Parse(hostAddress), 5001));
        var guest = _lab.Guest("a", _lab.VhostUser("vm1.sock", MacA), MacA, $"{AddressA}/24", GuestScripts.Receiver + "\n" + GuestScripts.Sender(hostAddress) + Linger);

        // What the namespace's TAP carries each way, as the kernel saw it (GSO frames at their whole length).
        var fromGuest = Path.Combine(_lab.Directory, "from-guest.pcap");
        var fromHost = Path.Combine(_lab.Directory, "from-host.pcap");
        using var guestFrames = Tcpdump.Start(Network.Namespace(1), Network.Tap(1), fromGuest, $"tcp and src host {AddressA}", "-Q", "in", "-s", "96", "-B", "16384");
        using var hostFrames = Tcpdump.Start(Network.Namespace(1), Network.Tap(1), fromHost, $"tcp and src host {hostAddress}", "-Q", "out", "-s", "96", "-B", "16384");

        // Namespace -> VM: the host stack's GSO frames go into the guest's rings whole.
        var sent = RandomNumberGenerator.GetBytes(GuestScripts.TransferBytes);
        NamespaceSockets.SendWhenListening(Network.Namespace(1), new IPEndPoint(IPAddress.Parse(AddressA), 5001), sent, GuestDeadline);
        var ping = Network.Ping(1, 11);
        Assert.True(ping.ExitCode == 0, $"the namespace could not ping the VM: {ping.Output}{ping.Error}");

        // VM -> namespace: after its ping answers, the guest sends 1 MiB back.
        var receiving = Task.Run(() => NamespaceSockets.ReceiveOne(listener), TestContext.Current.CancellationToken);
        var (bytes, hash) = await receiving.WaitAsync(GuestDeadline, TestContext.Current.CancellationToken);
        var fdb = _lab.Fdb();
        var result = guest.WaitForResult(GuestDeadline);
        guestFrames.Dispose();
        hostFrames.Dispose();
        Assert.True(result.ExitCode == 0, $"the guest failed: {result}");
        Assert.NotNull(result.ValueOf("PING-OK"));
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(sent)), result.ValueOf("RX-SHA256"));
        Assert.Equal((long)GuestScripts.TransferBytes, bytes);
        Assert.Equal(result.ValueOf("TX-SHA256"), Convert.ToHexStringLower(hash));

        Assert.Equal("host", GuestLab.PortOf(fdb, Network.MacOf(1)));
        Assert.Equal("vm1", GuestLab.PortOf(fdb, MacA));
        // The longest frame each way, not the average: the acknowledgements of the other transfer count among the frames.
        var longestFromHost = Tcpdump.FrameLengths(fromHost).DefaultIfEmpty().Max();
        var longestFromGuest = Tcpdump.FrameLengths(fromGuest).DefaultIfEmpty().Max();
        Assert.True(longestFromHost > MaxWireFrame, $"the namespace sent no GSO frames (longest {longestFromHost} bytes): {Port("host")}");
        Assert.True(longestFromGuest > MaxWireFrame, $"the guest's GSO frames did not reach the offload TAP whole (longest {longestFromGuest} bytes): {Port("host")}");
    }

    [Fact]
    public void TcpFromAVhostUserVmReachesAVmOnAStreamSocketThroughSoftwareSegmentationAndBack()
    {
        Privileged.RequireGuestsOnSwitch();
        _lab.StartSwitch(_lab.VhostUserPort("vma", "vma.sock"), _lab.StreamPort("vmb", "vmb.sock"));
        var vhost = _lab.Guest("a", _lab.VhostUser("vma.sock", MacA), MacA, $"{AddressA}/24", GuestScripts.Sender(AddressB) + "\n" + GuestScripts.Receiver + Linger);
        var stream = _lab.Guest("b", _lab.StreamClient("vmb.sock"), MacB, $"{AddressB}/24", GuestScripts.Receiver + "\n" + GuestScripts.Sender(AddressA) + Linger);

        // The counters of the first transfer alone (the reverse one's acknowledgements would count too).
        vhost.WaitForLine("TX-SECONDS", GuestDeadline);
        var vma = Port("vma");
        var vmb = Port("vmb");
        var fromVhost = vhost.WaitForResult(GuestDeadline);
        var fromStream = stream.WaitForResult(GuestDeadline);
        GuestScripts.AssertTransfer(fromVhost, fromStream);
        GuestScripts.AssertTransfer(fromStream, fromVhost);

        // 1 MiB at MSS 1448 is some 725 segments: the vhost-user guest sent far fewer (GSO) frames, and the stream
        // port, which takes no offloads, carried at least as many as the segments.
        TestContext.Current.TestOutputHelper?.WriteLine($"1 MiB from the vhost-user guest: {vma.GetProperty("rx_frames")} frames in, {vmb.GetProperty("tx_frames")} out to the stream port");
        Assert.InRange(vma.GetProperty("rx_frames").GetInt64(), 1, 700);
        Assert.True(vmb.GetProperty("tx_frames").GetInt64() >= GuestScripts.TransferBytes / 1448, $"the stream port sent fewer frames than the segments of 1 MiB: {vmb}");
        Assert.False(vmb.GetProperty("offload").GetBoolean());
        Assert.Equal(0, vma.GetProperty("drops").GetProperty("bad_offload").GetInt64());
    }

    /// <summary>
    /// Role client: QEMU listens and the switch connects again when it is back. Role server: the switch listens again
    /// and QEMU's chardev connects again by itself (<c>reconnect=1</c>; without it QEMU 7.2 never does).
    /// </summary>
    [Theory]
    [InlineData("client")]
    [InlineData("server")]
    public void TheVmsTalkAgainAfterTheSwitchRestartsWithoutRestartingThem(string role)
    {
        Privileged.RequireGuestsOnSwitch();
        var client = role == "client";
        _lab.StartSwitch(_lab.VhostUserPort("vma", "a.sock", $"role = \"{role}\""), _lab.VhostUserPort("vmb", "b.sock", $"role = \"{role}\""));
        var a = _lab.Guest("a", _lab.VhostUser("a.sock", MacA, qemuListens: client, qemuReconnects: !client), MacA, $"{AddressA}/24", GuestScripts.PingForever(AddressB));
        var b = _lab.Guest("b", _lab.VhostUser("b.sock", MacB, qemuListens: client, qemuReconnects: !client), MacB, $"{AddressB}/24", GuestScripts.PingForever(AddressA));
        a.WaitForLine(GuestScripts.PingOkAfter(0), "a successful ping of VM b", GuestDeadline);
        b.WaitForLine(GuestScripts.PingOkAfter(0), "a successful ping of VM a", GuestDeadline);

        var before = (A: GuestScripts.LastPing(a), B: GuestScripts.LastPing(b));
        _lab.RestartSwitch();

        a.WaitForLine(GuestScripts.PingOkAfter(before.A + 1), $"a ping after ping {before.A} that succeeds through the restarted switch", GuestDeadline);
        b.WaitForLine(GuestScripts.PingOkAfter(before.B + 1), $"a ping after ping {before.B} that succeeds through the restarted switch", GuestDeadline);
        Assert.False(a.HasExited || b.HasExited, "a VM's QEMU exited");
        Assert.Equal("up", _lab.PortState("vma"));
        Assert.Equal("up", _lab.PortState("vmb"));
    }

    [Fact]
    public void AVmOnAPortAddedAtRuntimeStopsAndItsPortLeavesThenItsRestartBringsItBackWhileTheOthersForward()
    {
        Privileged.RequireGuestsOnSwitch("ping");
        _lab.StartSwitch(GuestLab.TapPort("host", Network.Tap(1)), _lab.VhostUserPort("vma", "vma.sock"));
        Network.AddHost(1);
        Cli.Run("port", "add", "vmb", "--type", "vhost-user", "--path", _lab.Socket("vmb.sock"), "--control", _lab.ControlPath);
        var hostAddress = TestNetwork.Address(1);
        var a = _lab.Guest("a", _lab.VhostUser("vma.sock", MacA), MacA, $"{AddressA}/24", GuestScripts.PingForever(hostAddress));
        var b = _lab.Guest("b", _lab.VhostUser("vmb.sock", MacB), MacB, $"{AddressB}/24", GuestScripts.PingForever(hostAddress));
        a.WaitForLine(GuestScripts.PingOkAfter(0), "VM a reaching the namespace", GuestDeadline);
        b.WaitForLine(GuestScripts.PingOkAfter(0), "VM b reaching the namespace", GuestDeadline);
        Assert.Equal("up", _lab.PortState("vmb"));

        b.Dispose();
        WaitFor(() => _lab.Port("vmb") is null, "port vmb to leave the bridge when its VM stopped");
        var afterStop = GuestScripts.LastPing(a);
        a.WaitForLine(GuestScripts.PingOkAfter(afterStop + 2), "VM a still reaching the namespace after VM b stopped", GuestDeadline);
        Assert.Equal(0, Network.Ping(1, 11).ExitCode);

        var b2 = _lab.Guest("b2", _lab.VhostUser("vmb.sock", MacB), MacB, $"{AddressB}/24", GuestScripts.PingUntilAnswered(hostAddress) + "\n" + GuestScripts.PingUntilAnswered(AddressA, "PING-A-OK") + Linger);
        b2.WaitForLine("PING-A-OK", GuestDeadline);
        Assert.Equal("up", _lab.PortState("vmb"));
        Assert.Equal("vmb", GuestLab.PortOf(_lab.Fdb(), MacB));
        Assert.Equal(0, Network.Ping(1, 12).ExitCode);
        Assert.Equal(0, b2.WaitForResult(GuestDeadline).ExitCode);
    }

    [Fact]
    public void AccessAndTrunkVhostUserPortsKeepVlansApartAndTheTrunkMeetsKernelVlanDevices()
    {
        Privileged.RequireGuestsOnSwitch();
        _lab.StartSwitch(
            _lab.VhostUserPort("a10", "a10.sock", "mode = \"access\"\nvlan = 10"),
            _lab.VhostUserPort("c20", "c20.sock", "mode = \"access\"\nvlan = 20"),
            _lab.VhostUserPort("trunk", "trunk.sock", "mode = \"trunk\"\nallowed = \"10,20\""));

        // a (VLAN 10) and c (VLAN 20) share a subnet: only the switch keeps them apart. The trunk guest has a kernel
        // VLAN device for each.
        const string MacT = "52:54:00:18:0a:14";
        var a = _lab.Guest("a", _lab.VhostUser("a10.sock", MacA), MacA, "198.18.0.11/24", GuestScripts.Reachability(6, ("198.18.0.14", true), ("198.18.0.13", false)));
        var c = _lab.Guest(
            "c",
            _lab.VhostUser("c20.sock", "52:54:00:18:0a:13"),
            "52:54:00:18:0a:13",
            "198.18.0.13/24",
            "ip addr add 198.18.20.13/24 dev eth0\n" + GuestScripts.Reachability(6, ("198.18.20.14", true), ("198.18.0.11", false)));
        var t = _lab.Guest(
            "t",
            _lab.VhostUser("trunk.sock", MacT),
            MacT,
            "198.18.1.14/24",
            GuestScripts.Reachability(6, ("198.18.0.11", true), ("198.18.20.13", true), ("198.18.0.13", false)),
            ["10@198.18.0.14/24", "20@198.18.20.14/24"]);

        t.WaitForLine("REACH-198.18.20.13", GuestDeadline);
        var vlans = Cli.Json("vlan", "show", "--control", _lab.ControlPath, "-j");
        List<(string?, bool)> Members(int vid) => [.. vlans.EnumerateArray().Single(v => v.GetProperty("vlan").GetInt32() == vid).GetProperty("ports").EnumerateArray()
            .Select(p => (p.GetProperty("port").GetString(), p.GetProperty("tagged").GetBoolean())).OrderBy(p => p.Item1, StringComparer.Ordinal)];
        Assert.Equal([("a10", false), ("trunk", true)], Members(10));
        Assert.Equal([("c20", false), ("trunk", true)], Members(20));
        Assert.Equal("trunk", GuestLab.PortOf(_lab.Fdb("--vlan", "10"), MacT));
        Assert.Equal("trunk", GuestLab.PortOf(_lab.Fdb("--vlan", "20"), MacT));

        foreach (var guest in new[] { a, c, t })
        {
            var result = guest.WaitForResult(GuestDeadline);
            Assert.True(result.ExitCode == 0, $"guest {guest.Name}: a reachability check failed.\n{result}");
        }
    }

    [Fact]
    public void AGuestWithTwoQueuePairsTransmitsOnBoth()
    {
        Privileged.RequireGuestsOnSwitch();
        _lab.StartSwitch(GuestLab.TapPort("host", Network.Tap(1)), _lab.VhostUserPort("mq", "mq.sock", "queues = 2"));
        Network.AddHost(1);
        var hostAddress = TestNetwork.Address(1);

        // Each CPU transmits on its own queue (XPS); ten pings from processes bound to each CPU.
        var guest = _lab.Guest("mq", _lab.VhostUser("mq.sock", MacA, queuePairs: 2), MacA, $"{AddressA}/24", $$"""
            set -e
            echo "TX-QUEUES $(ls -d /sys/class/net/eth0/queues/tx-* | wc -l)"
            echo 1 >/sys/class/net/eth0/queues/tx-0/xps_cpus
            echo 2 >/sys/class/net/eth0/queues/tx-1/xps_cpus
            {{GuestScripts.PingUntilAnswered(hostAddress)}}
            for cpu in 1 2; do
                taskset "$cpu" sh -c 'ok=0; for i in 1 2 3 4 5 6 7 8 9 10; do ping -c 1 -W 1 {{hostAddress}} >/dev/null && ok=$((ok + 1)); done; echo "CPU-MASK-'"$cpu"' $ok"'
            done
            echo "FLOWS-DONE"
            sleep 4
            """);

        guest.WaitForLine("FLOWS-DONE", GuestDeadline);
        var mq = Port("mq");
        var result = guest.WaitForResult(GuestDeadline);
        Assert.True(result.ExitCode == 0, $"the guest failed: {result}");
        Assert.Equal("2", result.ValueOf("TX-QUEUES"));
        Assert.Matches("^([1-9]|10)$", result.ValueOf("CPU-MASK-1"));
        Assert.Matches("^([1-9]|10)$", result.ValueOf("CPU-MASK-2"));

        var vhost = mq.GetProperty("vhost-user");
        Assert.Contains("MQ", vhost.GetProperty("negotiated").EnumerateArray().Select(f => f.GetString()));
        var queues = vhost.GetProperty("queues").EnumerateArray()
            .ToDictionary(q => q.GetProperty("index").GetInt32(), q => (Direction: q.GetProperty("direction").GetString(), NextAvail: q.GetProperty("next_avail").GetInt32()));
        Assert.Equal([0, 1, 2, 3], queues.Keys.Order());
        Assert.Equal(["rx", "tx", "rx", "tx"], queues.OrderBy(q => q.Key).Select(q => q.Value.Direction));
        TestContext.Current.TestOutputHelper?.WriteLine($"replies per CPU: {result.ValueOf("CPU-MASK-1")}, {result.ValueOf("CPU-MASK-2")}; queues of mq: {string.Join(", ", queues.OrderBy(q => q.Key).Select(q => $"{q.Key} {q.Value.Direction} next_avail {q.Value.NextAvail}"))}");

        // Each transmit queue carried at least the ten echo requests of its CPU (answered or not).
        Assert.True(queues[1].NextAvail >= 10, $"transmit queue 1 (pair 0) moved only to {queues[1].NextAvail}: {vhost}");
        Assert.True(queues[3].NextAvail >= 10, $"transmit queue 3 (pair 1) moved only to {queues[3].NextAvail}: {vhost}");
    }

    /// <summary>The <c>port show</c> row of <paramref name="name"/>, which must be in the bridge.</summary>
    private JsonElement Port(string name) =>
        _lab.Port(name) ?? throw new InvalidOperationException($"port {name} is not in the bridge: {_lab.Ports()}");

    /// <summary>The average length of the frames port <paramref name="row"/> counted in direction <paramref name="direction"/> (rx or tx).</summary>
    private static long AverageFrame(JsonElement row, string direction) =>
        row.GetProperty($"{direction}_bytes").GetInt64() / Math.Max(1, row.GetProperty($"{direction}_frames").GetInt64());

    /// <summary>Writes the throughput of a transfer of <paramref name="bytes"/> the sender timed (TX-SECONDS) to the test output.</summary>
    private static void Report(string what, int bytes, GuestResult sent)
    {
        var seconds = double.Parse(sent.ValueOf("TX-SECONDS") ?? "0", CultureInfo.InvariantCulture);
        var rate = seconds > 0 ? $"{bytes * 8 / seconds / 1e6:F0} Mbit/s" : "too fast to time";
        TestContext.Current.TestOutputHelper?.WriteLine($"{what}: {bytes} bytes in {seconds:F2} s of guest time, {rate} (TCG guests)");
    }

    private static void WaitFor(Func<bool> condition, string what) => Waiting.Until(condition, what, TimeSpan.FromSeconds(30));
}
