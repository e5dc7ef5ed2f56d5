using System.Net.Sockets;
using UserBridge.Control.Management;

namespace UserBridge.Integration.Tests;

/// <summary>
/// The real switch against a peer that abuses a <c>multi</c> QEMU stream socket: thousands of connections that come
/// and go write a bounded number of log lines, and the memory a burst of hundreds of connections took goes back once
/// they leave.
/// </summary>
public sealed class StreamPeerFloodTests : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    // What the runtime keeps after 500 threads came and went (their stacks' caches, the JIT's and the collector's
    // bookkeeping): 20 MiB measured; before the pools let go, 390 MiB stayed.
    private const long RssAllowanceKib = 48 * 1024;
    private readonly SwitchLab _lab = new();

    public void Dispose() => _lab.Dispose();

    private string StreamPath => Path.Combine(_lab.Directory, "vms.sock");

    [Fact]
    public void TwoThousandConnectionsComingAndGoingWriteABoundedNumberOfLogLines()
    {
        var process = StartSwitch(maxConnections: 64);
        var linesBefore = Lines(process);

        const int Cycles = 2000;
        for (var cycle = 0; cycle < Cycles; cycle++)
        {
            using var peer = Connect();
        }

        Waiting.Until(() => Failures("closed") >= Cycles, $"the switch to see all {Cycles} connections close", Deadline, pollMilliseconds: 200);
        var written = Lines(process) - linesBefore;
        TestContext.Current.SendDiagnosticMessage($"{Cycles} connect/close cycles: {written} log lines");
        Assert.True(written < 200, $"{Cycles} connect/close cycles wrote {written} lines:\n{string.Join('\n', process.Output.Split('\n').TakeLast(20))}");
        Assert.Contains("suppressed)", process.Output + process.Errors, StringComparison.Ordinal);
    }

    [Fact]
    public void TheMemoryOfABurstOfFiveHundredConnectionsGoesBackOnceTheyLeave()
    {
        const int Burst = 500;
        var process = StartSwitch(maxConnections: Burst);
        using (Connect())
        {
            Waiting.Until(() => Ports() == 1, "the first connection's port", Deadline);
        }

        Waiting.Until(() => Ports() == 0, "the first connection's port to go", Deadline);
        var rssBefore = ProcessStatus.RssKib(process.Pid);

        var peers = new List<Socket>();
        try
        {
            for (var i = 0; i < Burst; i++)
            {
                peers.Add(Connect());
            }

            Waiting.Until(() => Ports() == Burst, $"{Burst} ports", Deadline, pollMilliseconds: 200);
        }
        finally
        {
            peers.ForEach(peer => peer.Dispose());
        }

        var rssPeak = ProcessStatus.RssKib(process.Pid);
        Waiting.Until(() => Ports() == 0, "every port of the burst to go", Deadline, pollMilliseconds: 200);

        // The buffers of 500 connections (almost three megabytes each, with their workers' batches) go back to the pools,
        // which let go of what no port took for a whole sweep (10 s with the default aging); the switch then collects
        // and gives the memory back, rather than when the heap next fills, which may be never.
        var rssAfter = ProcessStatus.RssKib(process.Pid);
        var settle = DateTime.UtcNow.AddSeconds(60);
        while ((rssAfter = ProcessStatus.RssKib(process.Pid)) > rssBefore + RssAllowanceKib && DateTime.UtcNow < settle)
        {
            Thread.Sleep(500);
        }

        var report = $"RSS {rssBefore} KiB before, {rssPeak} KiB with {Burst} connections, {rssAfter} KiB after they left; {ManagementClient.Call(_lab.Control, "stats", [])!["gc"]!.ToJsonString()}";
        TestContext.Current.SendDiagnosticMessage(report);
        Assert.True(rssAfter <= rssBefore + RssAllowanceKib, report);
    }

    private SwitchProcess StartSwitch(int maxConnections) =>
        _lab.Start("--config", _lab.WriteConfig($"""
            [[port]]
            name = "vms"
            type = "qemu-stream"
            path = "{StreamPath}"
            multi = true
            max_connections = {maxConnections}
            """));

    private Socket Connect()
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Connect(new UnixDomainSocketEndPoint(StreamPath));
        return socket;
    }

    private static int Lines(SwitchProcess process) => process.Output.Split('\n').Length + process.Errors.Split('\n').Length;

    private long Failures(string reason) =>
        (long)ManagementClient.Call(_lab.Control, "stats", [])!["port_failures"]![reason]!;

    private int Ports() => (int)ManagementClient.Call(_lab.Control, "stats", [])!["ports"]!;
}
