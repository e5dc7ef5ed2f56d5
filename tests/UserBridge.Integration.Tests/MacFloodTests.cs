using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using UserBridge.Core.Frames;
using UserBridge.Linux.Host;

namespace UserBridge.Integration.Tests;

/// <summary>
/// A MAC flood through the real data path: host 1 sends 1,000,000 frames from random source MACs into its TAP port
/// (40,000 a second, so that every frame reaches the table) while hosts 2 and 3 ping each other and run iperf3. The
/// table stays at its bound, fair eviction keeps the other hosts' entries, the switch's RSS stays bounded, no ping is
/// lost, and the pair's TCP throughput while the flood runs stays at least 80 % of its throughput in the pauses (the
/// figure itself, 0.88 to 0.99 by machine, is reported: a measurement, not a timing to pass).
/// </summary>
/// <remarks>
/// <para>
/// The flood is addressed to host 1's own MAC, but it soon evicts that entry too (fair eviction takes from the port
/// holding the most: host 1's), and from then on its frames are unknown unicast, flooded to hosts 2 and 3 as any
/// learning switch does. Port 1 has what an operator puts on a port facing an untrusted guest,
/// <c>storm.unknown_unicast_pps</c>, which holds that to 1,000 a second.
/// </para>
/// <para>
/// Placed as a switch is deployed for throughput: its poller on CPU 0 (<c>cpus = "0"</c>), the pair's iperf3 on CPU 1,
/// and the attacker on the switch's CPU. Unpinned, the figure wanders from 0.89 to 0.96 between runs on two vCPUs with
/// where the scheduler happens to put the five busy threads; pinned it was 0.97 to 0.99 on the machines of November and
/// is 0.88 to 0.89 on those of December, with the same code. The floor asserted is what a flood that reaches the pair's
/// path breaks: without storm control on the untrusted port it was 0.75 to 0.80. One iperf3 connection runs
/// throughout and the flood comes in phases with pauses between, compared by their median half-second intervals:
/// separate iperf3 runs differ among themselves by up to 15 %.
/// </para>
/// </remarks>
public sealed class MacFloodTests : IDisposable
{
    private const int FloodFrames = 1_000_000;
    private const int Capacity = 65_536;
    private const int FloodPerSecond = 40_000;

    // Sent every 10 ms: one system call in the generator and full read batches in the switch, so that the flood's
    // cost is the switch's work, not the test's.
    private const int FloodBurst = FloodPerSecond / 100;
    // The flood comes in phases of FloodSeconds with a pause of PauseSeconds after each: the pair's throughput in the
    // flooded phases is compared with the quiet pauses in between, so that both sample the same stretch of time.
    private const double FloodSeconds = 3;
    private const double PauseSeconds = 3;
    private const double IntervalSeconds = 0.5;
    private const int PhaseFrames = (int)(FloodPerSecond * FloodSeconds);
    private const int Phases = (FloodFrames + PhaseFrames - 1) / PhaseFrames;
    private const int IperfSeconds = (int)(PauseSeconds + 1 + (Phases * (FloodSeconds + PauseSeconds)) + 1);
    private const double ThroughputFloor = 0.8;
    private const long RssGrowthLimitKib = 32 * 1024;

    private readonly SwitchLab _lab = new();

    public void Dispose() => _lab.Dispose();

    [Fact]
    public async Task AMillionRandomSourceMacsLeaveTheTableBoundedAndTheOtherPairUntouched()
    {
        Privileged.Require(["ping", "iperf3", "taskset"]);
        Assert.True(Environment.ProcessorCount >= 2, $"the flood test places the switch and the pair on CPUs 0 and 1; this machine has {Environment.ProcessorCount}");
        var untrusted = _lab.TapPort(1, "storm = { unknown_unicast_pps = 1000 }");
        var process = _lab.Start("--config", _lab.WriteConfig($"mac_table_size = {Capacity}\ncpus = \"0\"\n" + untrusted + _lab.TapPort(2) + _lab.TapPort(3)));
        for (var host = 1; host <= 3; host++)
        {
            _lab.Network.AddHost(host);
        }

        Assert.Equal(0, _lab.Network.Ping(1, 2).ExitCode);
        Assert.Equal(0, _lab.Network.Ping(2, 3).ExitCode);
        var rssBefore = ProcessStatus.RssKib(process.Pid);

        var clock = Stopwatch.StartNew();
        var clientStarted = new TaskCompletionSource<double>(TaskCreationOptions.RunContinuationsAsynchronously);
        var iperf = Task.Factory.StartNew(() => IperfIntervals(IperfSeconds, clock, clientStarted), TestContext.Current.CancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        var clientStart = await clientStarted.Task.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);

        // The first quiet phase: the pair's TCP without the flood.
        await Task.Delay(TimeSpan.FromSeconds(PauseSeconds + 1), TestContext.Current.CancellationToken);

        var destination = MacAddress.Parse(_lab.Network.MacOf(1));
        var phases = new List<(double Start, double End)>();
        using var ping = BackgroundPing.Start(_lab.Network.Namespace(2), TestNetwork.Address(3), intervalSeconds: 0.02);
        var sent = await Task.Factory.StartNew(() => Flood(destination, clock, phases), TestContext.Current.CancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default)
            .WaitAsync(TimeSpan.FromMinutes(2), TestContext.Current.CancellationToken);
        var summary = await ping.StopAsync();
        var intervals = await iperf.WaitAsync(TimeSpan.FromMinutes(2), TestContext.Current.CancellationToken);
        var rssAfter = ProcessStatus.RssKib(process.Pid);

        // Intervals wholly inside a phase, half a second from each change; the client's first two seconds are TCP's slow start.
        var quietPhases = phases.Select((phase, i) => (Start: phase.End, End: i + 1 < phases.Count ? phases[i + 1].Start : double.MaxValue)).Prepend((Start: clientStart + 2.0, End: phases[0].Start));
        var quiet = Median(intervals.Where(interval => quietPhases.Any(phase => Inside(interval, phase))));
        var flooded = Median(intervals.Where(interval => phases.Any(phase => Inside(interval, phase))));
        var stats = Cli.Json("stats", "--control", _lab.Control, "-j");
        var table = stats.GetProperty("mac_table");
        var fdb = Cli.Json("fdb", "show", "--control", _lab.Control, "-j").EnumerateArray().Select(row => row.GetProperty("mac").GetString()).ToHashSet();
        var report = $"flood of {sent} frames in {phases.Count} phases: quiet {quiet / 1e9:0.00} Gbit/s, flooded {flooded / 1e9:0.00} Gbit/s ({flooded / quiet:0.000}), "
            + $"RSS {rssBefore} -> {rssAfter} KiB, table {table}, floods {stats.GetProperty("floods")}, {summary}";
        TestContext.Current.TestOutputHelper?.WriteLine(report);

        Assert.Equal(FloodFrames, sent);
        Assert.True(table.GetProperty("entries").GetInt32() <= Capacity, report);
        Assert.True(table.GetProperty("evicted").GetInt64() > 0, $"the flood never filled the table: {report}");
        Assert.Contains(_lab.Network.MacOf(2), fdb);
        Assert.Contains(_lab.Network.MacOf(3), fdb);
        Assert.True(rssAfter <= rssBefore + RssGrowthLimitKib, report);
        Assert.Contains(" 0% packet loss", summary, StringComparison.Ordinal);
        Assert.True(stats.GetProperty("drops").GetProperty("storm_unknown_unicast").GetInt64() > 0, report);
        Assert.True(flooded >= ThroughputFloor * quiet, report);
    }

    /// <summary>
    /// Sends <see cref="FloodFrames"/> frames from random unicast source MACs into host 1's TAP, in phases of
    /// <see cref="FloodSeconds"/> with a pause of <see cref="PauseSeconds"/> after each, recording each phase's start and end on
    /// <paramref name="clock"/>; returns how many frames went.
    /// </summary>
    private int Flood(MacAddress destination, Stopwatch clock, List<(double Start, double End)> phases)
    {
        const int FrameLength = 60;
        using var sender = FrameBurstSender.Open(_lab.Network.Namespace(1), _lab.Network.Tap(1));
        CpuAffinity.PinCurrentThread([0]);
        var random = new Random(20261128);
        var burst = new byte[FloodBurst * FrameLength];
        var sent = 0;
        while (sent < FloodFrames)
        {
            var start = clock.Elapsed;
            var phaseSent = 0;
            var phaseFrames = Math.Min(PhaseFrames, FloodFrames - sent);
            while (phaseSent < phaseFrames)
            {
                // Paced so that the switch takes in every frame (a faster flood overflows the TAP's queue).
                var ahead = start + TimeSpan.FromSeconds((double)phaseSent / FloodPerSecond) - clock.Elapsed;
                if (ahead > TimeSpan.Zero)
                {
                    Thread.Sleep(ahead);
                }

                var count = Math.Min(FloodBurst, phaseFrames - phaseSent);
                for (var i = 0; i < count; i++)
                {
                    var frame = burst.AsSpan(i * FrameLength, FrameLength);
                    destination.Write(frame);
                    new MacAddress(((ulong)random.NextInt64() & 0xFEFF_FFFF_FFFFUL) | 0x0200_0000_0000UL).Write(frame[6..]);
                    BinaryPrimitives.WriteUInt16BigEndian(frame[12..], 0x88b5);
                }

                var taken = sender.Send(burst, FrameLength, count);
                if (taken == 0)
                {
                    Thread.Sleep(1);
                }

                phaseSent += taken;
            }

            sent += phaseSent;
            var end = clock.Elapsed;
            phases.Add((start.TotalSeconds, end.TotalSeconds));

            Thread.Sleep(TimeSpan.FromSeconds(PauseSeconds));
        }

        return sent;
    }

    /// <summary>
    /// TCP from host 2 to host 3 for <paramref name="seconds"/>, once host 3's iperf3 server listens: the bits per second
    /// of each half second, timed on <paramref name="clock"/>, which the client's start is also given to
    /// <paramref name="clientStarted"/> on.
    /// </summary>
    private List<(double Start, double End, double BitsPerSecond)> IperfIntervals(int seconds, Stopwatch clock, TaskCompletionSource<double> clientStarted)
    {
        var port = Loopback.FreeTcpPort();
        var portText = port.ToString(CultureInfo.InvariantCulture);
        using var server = Process.Start(new ProcessStartInfo("ip", ["netns", "exec", _lab.Network.Namespace(3), "taskset", "-c", "1", "iperf3", "-s", "-1", "-p", portText]) { RedirectStandardOutput = true })!;
        try
        {
            NamespaceSockets.WaitForListener(_lab.Network.Namespace(3), port, TimeSpan.FromSeconds(20));
            var start = clock.Elapsed.TotalSeconds;
            clientStarted.SetResult(start);
            var client = Shell.Check("ip", "netns", "exec", _lab.Network.Namespace(2), "taskset", "-c", "1", "iperf3", "-c", TestNetwork.Address(3), "-p", portText, "-i", IntervalSeconds.ToString(CultureInfo.InvariantCulture), "-t", seconds.ToString(CultureInfo.InvariantCulture), "-J");
            using var json = JsonDocument.Parse(client);
            return json.RootElement.GetProperty("intervals").EnumerateArray()
                .Select(interval => interval.GetProperty("sum"))
                .Select(sum => (sum.GetProperty("start").GetDouble() + start, sum.GetProperty("end").GetDouble() + start, sum.GetProperty("bits_per_second").GetDouble()))
                .ToList();
        }
        catch (Exception ex)
        {
            clientStarted.TrySetException(ex);
            throw;
        }
        finally
        {
            server.WaitForExit(5000);
            if (!server.HasExited)
            {
                server.Kill();
            }
        }
    }

    private static bool Inside((double Start, double End, double BitsPerSecond) interval, (double Start, double End) phase) =>
        interval.Start >= phase.Start + 0.5 && interval.End <= phase.End - 0.5;

    private static double Median(IEnumerable<(double Start, double End, double BitsPerSecond)> intervals)
    {
        var rates = intervals.Select(interval => interval.BitsPerSecond).Order().ToArray();
        Assert.True(rates.Length >= 3, $"only {rates.Length} one-second intervals in a phase");
        return rates[rates.Length / 2];
    }
}
