namespace UserBridge.Integration.Tests;

/// <summary>
/// TCP through every pairing of offload capabilities, bytes verified: a TAP with offloads (64 KiB GSO frames both
/// ways), a TAP with <c>offload = false</c> (the switch segments and finishes checksums for it), and a packet port on
/// a veth (virtio-net headers over AF_PACKET). All three are access ports of VLAN 10: learning and VLAN-aware
/// forwarding are on.
/// </summary>
public sealed class OffloadTcpTests : IDisposable
{
    private const int TransferBytes = 8 * 1024 * 1024;
    private const int MaxWireFrame = 1514;

    private readonly SwitchLab _lab = new();
    private readonly string _veth;

    public OffloadTcpTests() => _veth = $"{_lab.Network.Prefix}-v3";

    public void Dispose()
    {
        _lab.Dispose();
        Shell.Run("ip", "link", "delete", "dev", _veth);
    }

    [Fact]
    public void TcpMovesDataIntactInEveryPairingOfOffloadAndNoOffloadPorts()
    {
        Privileged.Require("ping");
        var config = _lab.WriteConfig(_lab.OffloadPairingPorts(_veth));
        _lab.Start("--config", config);
        for (var host = 1; host <= 3; host++)
        {
            _lab.Network.AddHost(host);
        }

        var ports = Cli.Json("port", "show", "--control", _lab.Control, "-j").EnumerateArray().ToDictionary(row => row.GetProperty("name").GetString()!, row => row.GetProperty("offload").GetBoolean());
        Assert.Equal(new Dictionary<string, bool> { ["gso"] = true, ["plain"] = false, ["veth"] = true }, ports);

        // What the switch sends to the TAP without offloads, as host 2 receives it: headers only (the lengths are kept).
        var plainCapture = Path.Combine(_lab.Directory, "plain.pcap");
        using (Tcpdump.Start(_lab.Network.Namespace(2), _lab.Network.Tap(2), plainCapture, "tcp", "-Q", "in", "-s", "96", "-B", "16384"))
        {
            foreach (var (from, to) in new[] { (1, 2), (2, 1), (1, 3), (3, 1), (2, 3), (3, 2) })
            {
                var (sent, received) = Transfer(from, to, 5000 + (from * 10) + to);
                Assert.True(sent.AsSpan().SequenceEqual(received), $"h{from} -> h{to}: the bytes received differ from those sent");
            }
        }

        var counters = Cli.Json("port", "show", "--control", _lab.Control, "-j").EnumerateArray().ToDictionary(row => row.GetProperty("name").GetString()!);
        var gso = counters["gso"];
        Assert.True(gso.GetProperty("rx_bytes").GetInt64() / gso.GetProperty("rx_frames").GetInt64() > MaxWireFrame, $"the offload TAP sent no GSO frames: {gso}");
        // The claim is about every frame, not the average: none the TAP without offloads received exceeds the wire size,
        // and the capture saw the full-sized data frames of the two transfers to host 2 (tcpdump may lose some under load).
        var lengths = Tcpdump.FrameLengths(plainCapture);
        var longest = lengths.Count == 0 ? 0 : lengths.Max();
        Assert.True(longest <= MaxWireFrame, $"a frame of {longest} bytes, larger than the wire, went to the TAP without offloads");
        var fullSized = lengths.Count(length => length > 1400);
        Assert.True(fullSized >= TransferBytes / MaxWireFrame, $"the capture on the TAP without offloads saw only {fullSized} full-sized frames of {lengths.Count}");
        Assert.All(counters.Values, row => Assert.Equal(0, row.GetProperty("drops").GetProperty("bad_offload").GetInt64()));
    }

    [Fact]
    public async Task AMultiQueueTapRunsAWorkerPerQueueBesideThePollerAllPinnedToTheGivenCpuAndCarriesConcurrentTcpIntact()
    {
        Privileged.Require("ping");
        var config = _lab.WriteConfig($"""
            [[port]]
            name = "mq"
            interface = "{_lab.Network.Tap(1)}"
            queues = 2

            [[port]]
            name = "sq"
            interface = "{_lab.Network.Tap(2)}"
            """);
        _lab.Start("--config", config, "--cpus", "0");
        Assert.Contains($"port mq up: tap {_lab.Network.Tap(1)} (created; removed on exit, offloads, 2 queues)", _lab.Switch!.Output, StringComparison.Ordinal);
        _lab.Network.AddHost(1);
        _lab.Network.AddHost(2);

        var threads = Directory.GetDirectories($"/proc/{_lab.Switch!.Pid}/task")
            .Select(task => (Name: File.ReadAllText(Path.Combine(task, "comm")).Trim(), Cpus: File.ReadAllLines(Path.Combine(task, "status")).Single(line => line.StartsWith("Cpus_allowed_list:", StringComparison.Ordinal)).Split(':')[1].Trim()))
            .Where(thread => thread.Name.StartsWith("ub-", StringComparison.Ordinal))
            .ToDictionary(thread => thread.Name, thread => thread.Cpus);

        // The multi-queue port keeps a worker per queue; the single-queue one is served by the poller.
        Assert.DoesNotContain("ub-rx-sq", threads.Keys);
        foreach (var worker in new[] { "ub-rx-mq-q0", "ub-rx-mq-q1", "ub-poll-0" })
        {
            Assert.True(threads.TryGetValue(worker, out var cpus), $"no thread {worker}: {string.Join(", ", threads.Keys)}");
            Assert.Equal("0", cpus);
        }

        var transfers = new[] { (1, 2, 6001), (1, 2, 6002), (2, 1, 6003), (2, 1, 6004) }
            .Select(transfer => Task.Run(() => Transfer(transfer.Item1, transfer.Item2, transfer.Item3), TestContext.Current.CancellationToken))
            .ToList();
        foreach (var (transfer, index) in transfers.Select((task, index) => (task, index)))
        {
            var (sent, received) = await transfer.WaitAsync(TimeSpan.FromSeconds(90), TestContext.Current.CancellationToken);
            Assert.True(sent.AsSpan().SequenceEqual(received), $"transfer {index}: the bytes received differ from those sent");
        }

        var mq = Cli.Json("port", "show", "--control", _lab.Control, "--port", "mq", "-j")[0];
        Assert.True(mq.GetProperty("rx_frames").GetInt64() > 0 && mq.GetProperty("tx_frames").GetInt64() > 0, $"no traffic counted on the multi-queue port: {mq}");
    }

    private (byte[] Sent, byte[] Received) Transfer(int from, int to, int port) => NamespaceSockets.Transfer(_lab.Network, from, to, port, TransferBytes);
}
