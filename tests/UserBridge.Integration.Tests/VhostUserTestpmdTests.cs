using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace UserBridge.Integration.Tests;

/// <summary>
/// DPDK's <c>dpdk-testpmd</c> as a second, independent vhost-user frontend (no VM, no QEMU): two
/// <c>net_virtio_user</c> ports bounce frames through the switch (io forwarding, each port's frames addressed to the
/// other's MAC, <c>start tx_first</c> putting bursts in flight), one port from the config and one added at run time.
/// Every frame testpmd sent reaches the switch and leaves by the other port, the counts on both sides match, and
/// <c>port show</c> tells the negotiated features and the queues.
/// </summary>
public sealed partial class VhostUserTestpmdTests : IDisposable
{
    private const int Descriptors = 1024;

    private readonly SwitchLab _lab = new();

    public void Dispose() => _lab.Dispose();

    [Fact]
    public void TwoVirtioUserPortsExchangeFramesThroughTheSwitchAndTheCountsMatch()
    {
        Privileged.Require(["dpdk-testpmd", "stdbuf", "mount", "mountpoint"]);
        using var pages = HugePages.Reserve(pages: 256);
        var sockets = new[] { Path.Combine(_lab.Directory, "vh0.sock"), Path.Combine(_lab.Directory, "vh1.sock") };
        _lab.Start("--config", _lab.WriteConfig($"[[port]]\nname = \"vh0\"\ntype = \"vhost-user\"\npath = \"{sockets[0]}\"\n"));
        Cli.Run("port", "add", "vh1", "--type", "vhost-user", "--path", sockets[1], "--control", _lab.Control);

        using var testpmd = Testpmd.Start(sockets, $"{_lab.Network.Prefix}-pmd");
        testpmd.Command("start tx_first 4");
        Thread.Sleep(TimeSpan.FromSeconds(3));
        var statistics = testpmd.Command("stop", until: "Done.");
        var sent = Counts(statistics, "TX-packets");
        var received = Counts(statistics, "RX-packets");

        // The switch has read every frame testpmd put on its transmit queues once both counts stand still.
        Waiting.Until(() => Port("vh0").Rx == sent[0] && Port("vh1").Rx == sent[1], $"the switch to count the {sent[0]} and {sent[1]} frames testpmd sent", TimeSpan.FromSeconds(10));
        var (vh0, vh1) = (Port("vh0"), Port("vh1"));
        var report = $"testpmd sent {sent[0]}/{sent[1]}, received {received[0]}/{received[1]}; switch vh0 rx {vh0.Rx} tx {vh0.Tx} errors {vh0.Errors}, vh1 rx {vh1.Rx} tx {vh1.Tx} errors {vh1.Errors}";
        TestContext.Current.TestOutputHelper?.WriteLine(report);

        Assert.True(sent[0] > 10_000 && sent[1] > 10_000, report);
        var shown = Cli.Json("port", "show", "--port", "vh1", "--control", _lab.Control, "-j")[0].GetProperty("vhost-user");
        Assert.Contains("VERSION_1", shown.GetProperty("negotiated").EnumerateArray().Select(name => name.GetString()));
        Assert.Equal(["rx", "tx"], shown.GetProperty("queues").EnumerateArray().Select(queue => queue.GetProperty("direction").GetString()));
        Assert.Equal((0L, 0L), (vh0.Errors, vh1.Errors));
        Assert.Equal(vh0.Rx, vh1.Tx);
        Assert.Equal(vh1.Rx, vh0.Tx);

        // What testpmd had not read yet when it stopped is still in its receive rings: at most a ring's worth.
        Assert.InRange(vh1.Tx - received[1], 0, Descriptors);
        Assert.InRange(vh0.Tx - received[0], 0, Descriptors);
        testpmd.Command("quit");
    }

    private (long Rx, long Tx, long Errors) Port(string name)
    {
        var row = Cli.Json("port", "show", "--port", name, "--control", _lab.Control, "-j")[0];
        return (row.GetProperty("rx_frames").GetInt64(), row.GetProperty("tx_frames").GetInt64(), row.GetProperty("tx_errors").GetInt64());
    }

    /// <summary>The per-port figure <paramref name="field"/> of testpmd's "Forward statistics for port N" blocks.</summary>
    private static long[] Counts(string statistics, string field)
    {
        var counts = new long[2];
        foreach (Match block in ForwardStatistics().Matches(statistics))
        {
            var port = int.Parse(block.Groups["port"].Value, System.Globalization.CultureInfo.InvariantCulture);
            var value = Regex.Match(block.Groups["body"].Value, $@"{field}:\s+(\d+)");
            Assert.True(value.Success, $"no {field} for port {port} in testpmd's statistics:\n{statistics}");
            counts[port] = long.Parse(value.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        }

        return counts;
    }

    [GeneratedRegex(@"Forward statistics for port (?<port>[01])\s+-+\s*(?<body>.*?)-{20,}", RegexOptions.Singleline)]
    private static partial Regex ForwardStatistics();

    /// <summary>An interactive <c>dpdk-testpmd</c> with two <c>net_virtio_user</c> ports on the switch's sockets.</summary>
    private sealed class Testpmd : IDisposable
    {
        private readonly Process _process;
        private readonly StringBuilder _output = new();
        private readonly Lock _lock = new();

        private Testpmd(Process process)
        {
            _process = process;
            _process.OutputDataReceived += (_, e) => Append(e.Data);
            _process.ErrorDataReceived += (_, e) => Append(e.Data);
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();
        }

        public static Testpmd Start(string[] sockets, string prefix)
        {
            // stdbuf: testpmd's statistics would wait in stdio's buffer of a pipe until it exits.
            var start = new ProcessStartInfo("stdbuf") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
            string[] arguments =
            [
                "-oL", "dpdk-testpmd",
                "--lcores", "0@0,1@0", "--file-prefix", prefix, "--no-pci", "-m", "256", "--in-memory", "--single-file-segments",
                "--vdev", $"net_virtio_user0,path={sockets[0]},queues=1,mac=02:00:00:00:00:01",
                "--vdev", $"net_virtio_user1,path={sockets[1]},queues=1,mac=02:00:00:00:00:02",
                "--", "-i", "--forward-mode=io", "--txpkts=60", "--burst=32", $"--rxd={Descriptors}", $"--txd={Descriptors}",
                "--eth-peer=0,02:00:00:00:00:02", "--eth-peer=1,02:00:00:00:00:01",
            ];
            foreach (var argument in arguments)
            {
                start.ArgumentList.Add(argument);
            }

            var testpmd = new Testpmd(Process.Start(start) ?? throw new InvalidOperationException("dpdk-testpmd did not start"));
            testpmd.WaitFor("Checking link statuses...", TimeSpan.FromSeconds(30));
            return testpmd;
        }

        /// <summary>Types <paramref name="command"/>; with <paramref name="until"/>, waits for that line after it and returns what came (the prompt ends no line).</summary>
        public string Command(string command, string? until = null)
        {
            int from;
            lock (_lock)
            {
                from = _output.Length;
            }

            _process.StandardInput.WriteLine(command);
            _process.StandardInput.Flush();
            return until is null ? string.Empty : WaitFor(until, TimeSpan.FromSeconds(30), from);
        }

        public void Dispose()
        {
            if (!_process.WaitForExit(TimeSpan.FromSeconds(10)))
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit();
            }

            _process.Dispose();
        }

        private string WaitFor(string text, TimeSpan deadline, int from = 0)
        {
            var clock = Stopwatch.StartNew();
            while (true)
            {
                lock (_lock)
                {
                    var output = _output.ToString(from, _output.Length - from);
                    if (output.Contains(text, StringComparison.Ordinal))
                    {
                        return output;
                    }

                    if (clock.Elapsed > deadline || _process.HasExited)
                    {
                        Assert.Fail($"dpdk-testpmd did not print '{text}' within {deadline.TotalSeconds:0} s; it printed:\n{_output}");
                    }
                }

                Thread.Sleep(20);
            }
        }

        private void Append(string? line)
        {
            if (line is not null)
            {
                lock (_lock)
                {
                    _output.AppendLine(line);
                }
            }
        }
    }
}
