using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using System.Text.Json;
using UserBridge.Control.Management;
using UserBridge.Core.Frames;

namespace UserBridge.Integration.Tests;

/// <summary>
/// Churn against the real process: 100 cycles of a QEMU stream peer connecting, sending and disconnecting, and of a
/// packet port's interface being deleted and created again, while two hosts ping each other through TAP ports. The
/// pings lose nothing, and the switch's open fds and threads stay flat and its memory within the collector's allowance.
/// </summary>
public sealed class ChurnTests : IDisposable
{
    private const int Cycles = 100;
    private const int WarmUpCycles = 5;
    private const int ManagementWarmUp = 2000;
    // Leaks of ports, connections or their threads show in the fd and thread counts, exactly. The RSS bound is loose on
    // purpose: the switch's control plane allocates (its JSON, this test's ~3,000 requests), and the garbage collector
    // lets its first generation fill before collecting, which moves the RSS by 10-30 MiB on its own (the soak run shows
    // it settle); 24 MiB still catches anything that keeps a quarter of a megabyte per cycle.
    private const long RssGrowthLimitKib = 24 * 1024;
    private static readonly TimeSpan StateDeadline = TimeSpan.FromSeconds(10);

    private readonly SwitchLab _lab = new();

    public void Dispose()
    {
        Shell.Run("ip", "link", "delete", "dev", Veth);
        _lab.Dispose();
    }

    private string Veth => $"{_lab.Network.Prefix}-ck";

    private string StreamPath => Path.Combine(_lab.Directory, "vm.sock");

    [Fact]
    public async Task StreamPeersAndAnInterfaceComingAndGoingLeaveFdsAndMemoryFlatAndOtherTrafficWhole()
    {
        Privileged.Require(["ping"]);
        AddVeth();
        var config = _lab.TapPort(1) + _lab.TapPort(2)
            + $"[[port]]\nname = \"vm\"\ntype = \"qemu-stream\"\npath = \"{StreamPath}\"\n\n"
            + $"[[port]]\nname = \"pk\"\ntype = \"packet\"\ninterface = \"{Veth}\"\n";
        var process = _lab.Start("--config", _lab.WriteConfig(config));
        _lab.Network.AddHost(1);
        _lab.Network.AddHost(2);
        Assert.Equal(0, _lab.Network.Ping(1, 2).ExitCode);
        WaitForState("pk", "up");

        for (var cycle = 0; cycle < WarmUpCycles; cycle++)
        {
            Cycle();
        }

        // The management requests this test polls with grow the switch's heap to its steady size over the first
        // thousand or so (then it stays put): take the baseline after that, so that it measures the churn.
        for (var request = 0; request < ManagementWarmUp; request++)
        {
            ManagementClient.Call(_lab.Control, "port show", new JsonObject { ["port"] = "pk" });
        }

        var (fdsBefore, threadsBefore, rssBefore) = (ProcessStatus.OpenFds(process.Pid), ProcessStatus.Threads(process.Pid), ProcessStatus.RssKib(process.Pid));
        var statsBefore = Stats();
        using var ping = BackgroundPing.Start(_lab.Network.Namespace(1), TestNetwork.Address(2), intervalSeconds: 0.02);
        for (var cycle = 0; cycle < Cycles; cycle++)
        {
            Cycle();
        }

        var summary = await ping.StopAsync();
        var (fdsAfter, threadsAfter, rssAfter) = (ProcessStatus.OpenFds(process.Pid), ProcessStatus.Threads(process.Pid), ProcessStatus.RssKib(process.Pid));
        var statsAfter = Stats();
        var gen2 = Grown("gc", "gen2");
        var report = $"churn: fds {fdsBefore} -> {fdsAfter}, threads {threadsBefore} -> {threadsAfter}, RSS {rssBefore} -> {rssAfter} KiB, collections +{Grown("gc", "gen0")}/+{Grown("gc", "gen1")}/+{gen2}, heap {statsBefore.GetProperty("gc").GetProperty("heap_bytes")} -> {statsAfter.GetProperty("gc").GetProperty("heap_bytes")} bytes, allocated +{Grown("gc", "allocated_bytes")} bytes, {summary}";
        TestContext.Current.TestOutputHelper?.WriteLine(report);

        Assert.Contains(" 0% packet loss", summary, StringComparison.Ordinal);
        Assert.True(fdsAfter <= fdsBefore + 2, $"open fds grew from {fdsBefore} to {fdsAfter} over {Cycles} cycles");
        Assert.True(threadsAfter <= threadsBefore + 2, $"threads grew from {threadsBefore} to {threadsAfter} over {Cycles} cycles");
        Assert.True(rssAfter <= rssBefore + RssGrowthLimitKib, $"RSS grew from {rssBefore} KiB to {rssAfter} KiB over {Cycles} cycles: {report}");
        Assert.Equal(0, _lab.Network.Ping(1, 2).ExitCode);

        // Every departure counted by why: the peer closed between frames; the interface went (an I/O error).
        Assert.Equal(Cycles, Grown("port_failures", "closed"));
        Assert.True(Grown("port_failures", "error") >= Cycles, report);
        Assert.Equal(0, Grown("port_failures", "cut_frame"));

        // A connection's buffers and its worker's scratch come back to the pinned pool: the pinned heap, whose growth
        // forces full collections, does not grow with the churn.
        Assert.True(gen2 <= 1, report);

        long Grown(string group, string name) => statsAfter.GetProperty(group).GetProperty(name).GetInt64() - statsBefore.GetProperty(group).GetProperty(name).GetInt64();
    }

    private JsonElement Stats() => Cli.Json("stats", "--control", _lab.Control, "-j");

    /// <summary>One cycle: a stream peer comes, sends a frame and goes; the packet port's interface goes and comes back.</summary>
    private void Cycle()
    {
        using (var peer = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            peer.Connect(new UnixDomainSocketEndPoint(StreamPath));
            WaitForState("vm", "up");
            peer.Send(Framed(0x5e));
        }

        WaitForState("vm", "absent");
        Shell.Check("ip", "link", "delete", "dev", Veth);
        WaitForState("pk", "down");
        AddVeth();
        WaitForState("pk", "up");
    }

    private void AddVeth()
    {
        Shell.Check("ip", "link", "add", Veth, "type", "veth", "peer", "name", $"{Veth}p");
        Shell.Check("ip", "link", "set", Veth, "up");
    }

    private void WaitForState(string port, string state) =>
        Waiting.Until(() => State(port) == state, $"port {port} to be {state}", StateDeadline, pollMilliseconds: 20);

    /// <summary>"up", "down", or "absent" (a listening stream port exists only while its peer is connected).</summary>
    private string? State(string port)
    {
        try
        {
            return ManagementClient.Call(_lab.Control, "port show", new JsonObject { ["port"] = port }).AsArray().SingleOrDefault()?["state"]?.GetValue<string>();
        }
        catch (ManagementException ex) when (ex.Message.StartsWith("no port named", StringComparison.Ordinal))
        {
            return "absent";
        }
    }

    /// <summary>A broadcast from a station of the stream peer, framed with QEMU's length prefix.</summary>
    private static byte[] Framed(byte station)
    {
        var framed = new byte[4 + 60];
        BinaryPrimitives.WriteInt32BigEndian(framed, 60);
        MacAddress.Broadcast.Write(framed.AsSpan(4));
        new MacAddress(0x5254_0000_0000UL | station).Write(framed.AsSpan(10));
        BinaryPrimitives.WriteUInt16BigEndian(framed.AsSpan(16), 0x88b5);
        return framed;
    }
}
