using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace UserBridge.Integration.Tests;

/// <summary>The switch as users run it: the real program, three namespaces behind three TAP ports, the kernel as peer.</summary>
public sealed class SwitchOverTapsTests : IDisposable
{
    private readonly TestNetwork _network = new();
    private readonly string _control;
    private SwitchProcess? _switch;

    public SwitchOverTapsTests() => _control = Path.Combine(Path.GetTempPath(), $"{_network.Prefix}.sock");

    [Fact]
    public void EveryPairOfHostsPingsAndEachMacIsLearnedOnItsPort()
    {
        StartThreeHosts();
        for (var from = 1; from <= 3; from++)
        {
            for (var to = 1; to <= 3; to++)
            {
                if (from != to)
                {
                    var ping = _network.Ping(from, to);
                    Assert.True(ping.ExitCode == 0, $"ping h{from} -> h{to} failed: {ping.Output}{ping.Error}");
                }
            }
        }

        var fdb = Cli.Json("fdb", "show", "--control", _control, "-j");
        for (var host = 1; host <= 3; host++)
        {
            var mac = _network.MacOf(host);
            var rows = fdb.EnumerateArray().Where(row => row.GetProperty("mac").GetString() == mac).ToList();
            Assert.True(rows.Count == 1, $"expected {mac} (h{host}) once in fdb show -j, got: {fdb}");
            Assert.Equal(_network.Tap(host), rows[0].GetProperty("port").GetString());
            Assert.Equal(0, rows[0].GetProperty("vlan").GetInt32());
            Assert.False(rows[0].GetProperty("static").GetBoolean());
            Assert.InRange(rows[0].GetProperty("age_s").GetDouble(), 0, 60);
        }
    }

    [Fact]
    public void LearnedUnicastBetweenTwoHostsDoesNotReachTheThird()
    {
        StartThreeHosts();
        Assert.Equal(0, _network.Ping(1, 2).ExitCode);
        Assert.Equal(0, _network.Ping(1, 3).ExitCode);

        var capture = Path.Combine(Path.GetTempPath(), $"{_network.Prefix}-h3.pcap");
        try
        {
            using (var tcpdump = Tcpdump.Start(_network.Namespace(3), _network.Tap(3), capture, "icmp"))
            {
                var unicast = _network.Ping(1, 2, count: 5);
                Assert.True(unicast.ExitCode == 0, $"ping h1 -> h2 failed: {unicast.Output}");

                // Traffic that must reach h3, so the capture proves it was listening.
                Assert.Equal(0, _network.Ping(1, 3, count: 2).ExitCode);
            }

            var lines = Tcpdump.Read(capture);
            Assert.DoesNotContain(lines, line => line.Contains(TestNetwork.Address(2), StringComparison.Ordinal));
            Assert.Contains(lines, line => line.Contains($"{TestNetwork.Address(1)} > {TestNetwork.Address(3)}", StringComparison.Ordinal));
        }
        finally
        {
            File.Delete(capture);
        }

        var ports = Cli.Json("port", "show", "--control", _control, "-j");
        var p3 = ports.EnumerateArray().Single(p => p.GetProperty("name").GetString() == _network.Tap(3));
        Assert.Equal("tap", p3.GetProperty("type").GetString());
        Assert.Equal(_network.Tap(3), p3.GetProperty("interface").GetString());
        Assert.Equal("up", p3.GetProperty("state").GetString());
        Assert.True(p3.GetProperty("rx_frames").GetInt64() > 0);
        Assert.True(p3.GetProperty("tx_bytes").GetInt64() > 0);
        Assert.Equal(JsonValueKind.Object, p3.GetProperty("drops").ValueKind);
    }

    [Fact]
    public void StoppingTheSwitchRemovesTheTapsItCreatedAndKeepsPersistentOnes()
    {
        Privileged.Require();
        var persistent = _network.Tap(9);
        _network.AddPersistentTap(persistent);
        _switch = SwitchProcess.StartSwitch("--tap", _network.Tap(1), "--tap", persistent, "--name", _network.Prefix, "--control", _control);
        Assert.True(TestNetwork.InterfaceExists(_network.Tap(1)), "the switch did not create its TAP");
        Assert.Contains($"port {_network.Tap(1)} up: tap {_network.Tap(1)} (created", _switch.Output, StringComparison.Ordinal);
        Assert.Contains($"(attached, persistent", _switch.Output, StringComparison.Ordinal);

        var (exitCode, elapsed) = _switch.Terminate(TimeSpan.FromSeconds(10));

        Assert.Equal(0, exitCode);
        Assert.False(TestNetwork.InterfaceExists(_network.Tap(1)), "the TAP the switch created is still there after it stopped");
        Assert.True(TestNetwork.InterfaceExists(persistent), "the persistent TAP was removed");
        Assert.False(File.Exists(_control), "the control socket was left behind");
        Assert.True(elapsed < TimeSpan.FromSeconds(5), $"stopping took {elapsed}");
    }

    [Fact]
    public void LabCommandBuildsPingsAndRemovesItsNamespaces()
    {
        Privileged.Require("ping");
        using var lab = SwitchProcess.Launch("lab", "--once", "--prefix", _network.Prefix);
        var exitCode = lab.WaitForExit(TimeSpan.FromSeconds(90));

        Assert.True(exitCode == 0, $"lab failed ({exitCode}):\n{lab.Output}\n{lab.Errors}");
        Assert.Contains("every pair of hosts reached each other through the switch", lab.Output, StringComparison.Ordinal);
        Assert.Equal(6, lab.Output.Split('\n').Count(line => line.StartsWith("ping h", StringComparison.Ordinal) && line.Contains(": ok", StringComparison.Ordinal)));
        var namespaces = Shell.Check("ip", "netns", "list");
        Assert.DoesNotContain(_network.Prefix, namespaces, StringComparison.Ordinal);
        Assert.False(TestNetwork.InterfaceExists($"{_network.Prefix}-p1"));
    }

    [Fact]
    public void BadConfigIsRejectedWithFileLineAndReasonBeforeAnythingStarts()
    {
        var file = Path.Combine(Path.GetTempPath(), $"{_network.Prefix}.toml");
        File.WriteAllText(file, "name = \"x\"\n[[port]]\ninterface = \"a\"\ncolour = \"blue\"\n");
        try
        {
            using var run = SwitchProcess.Launch("run", "--config", file);
            Assert.Equal(2, run.WaitForExit(TimeSpan.FromSeconds(20)));
            Assert.Contains($"{file}:4: unknown key 'colour' in [[port]] of type \"tap\"; allowed: name, type, interface", run.Errors, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    public void Dispose()
    {
        _switch?.Dispose();
        _network.Dispose();
    }

    private void StartThreeHosts()
    {
        Privileged.Require("ping", "tcpdump");
        _switch = SwitchProcess.StartSwitch(
            "--tap", _network.Tap(1), "--tap", _network.Tap(2), "--tap", _network.Tap(3),
            "--name", _network.Prefix, "--control", _control);
        var watch = Stopwatch.StartNew();
        for (var host = 1; host <= 3; host++)
        {
            _network.AddHost(host);
        }

        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(30), string.Create(CultureInfo.InvariantCulture, $"setting up hosts took {watch.Elapsed}"));
    }
}
