using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Tmds.Linux;

namespace UserBridge.Integration.Tests;

/// <summary>
/// Running under systemd: <c>Type=notify</c> readiness through <c>NOTIFY_SOCKET</c> once every port is up, and log lines
/// the journal can file by priority. The unit file is <c>samples/userbridge@.service</c>.
/// </summary>
public sealed class SystemdTests : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan OpenDelay = TimeSpan.FromMilliseconds(500);

    private readonly TestNetwork _network = new();
    private readonly string _directory;
    private readonly string _notifyPath;
    private readonly Socket _notify = new(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);

    public SystemdTests()
    {
        _directory = Directory.CreateTempSubdirectory($"{_network.Prefix}-").FullName;
        _notifyPath = Path.Combine(_directory, "notify.sock");
        _notify.Bind(new UnixDomainSocketEndPoint(_notifyPath));
        _notify.ReceiveTimeout = (int)Deadline.TotalMilliseconds;
    }

    public void Dispose()
    {
        var veth = $"{_network.Prefix}-v1";
        if (TestNetwork.InterfaceExists(veth))
        {
            Shell.Run("ip", "link", "delete", "dev", veth);
        }

        _notify.Dispose();
        _network.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public void RunSignalsReadyOnlyOnceEveryPortIsUpAndStoppingWhenTerminated()
    {
        Privileged.Require();
        var control = Path.Combine(_directory, "switch.sock");
        using var process = SwitchProcess.LaunchWith(
            new Dictionary<string, string> { ["NOTIFY_SOCKET"] = _notifyPath, ["JOURNAL_STREAM"] = "8:12345" },
            "run", "--tap", _network.Tap(1), "--tap", _network.Tap(2), "--name", _network.Prefix, "--control", control, "--log-level", "Debug");

        var ready = Receive(message => message.Contains("READY=1", StringComparison.Ordinal));

        Assert.True(TestNetwork.InterfaceExists(_network.Tap(1)) && TestNetwork.InterfaceExists(_network.Tap(2)), "READY=1 came before the TAPs were up");
        Assert.Equal(2, Cli.Json("port", "show", "--control", control, "-j").GetArrayLength());
        Assert.Contains("READY=1", ready, StringComparison.Ordinal);
        Assert.StartsWith("STATUS=", Receive(message => message.StartsWith("STATUS=", StringComparison.Ordinal)), StringComparison.Ordinal);

        var (exitCode, _) = process.Terminate(Deadline);
        Assert.Equal(0, exitCode);
        Receive(message => message.Contains("STOPPING=1", StringComparison.Ordinal));

        // Under the journal every log line starts with its syslog priority (<7> debug, <6> information).
        var logLines = process.Errors.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.NotEmpty(logLines);
        Assert.All(logLines, line => Assert.Matches(@"^<[0-7]>", line));
        Assert.Contains(logLines, line => line.StartsWith("<7>", StringComparison.Ordinal) && line.Contains(_network.Tap(1), StringComparison.Ordinal));
    }

    /// <summary>
    /// A packet port is opened by a thread of its own (its supervisor), after the config's other ports; here that thread
    /// is slowed down (strace delays each of the four setsockopt calls that opening an AF_PACKET socket makes by
    /// <see cref="OpenDelay"/>, and nothing else the switch does before READY calls it). READY must still come only once
    /// that port is up.
    /// </summary>
    [Fact]
    public void ReadyWaitsForAPortThatComesUpLate()
    {
        Privileged.Require("strace");
        var veth = $"{_network.Prefix}-v1";
        Shell.Check("ip", "link", "add", veth, "type", "veth", "peer", "name", $"{_network.Prefix}-v2");
        Shell.Check("ip", "link", "set", $"{_network.Prefix}-v2", "up");
        var config = Path.Combine(_directory, "switch.toml");
        File.WriteAllText(config, $"[[port]]\nname = \"t1\"\ninterface = \"{_network.Tap(1)}\"\n\n[[port]]\nname = \"late\"\ntype = \"packet\"\ninterface = \"{veth}\"\n");
        var control = Path.Combine(_directory, "switch.sock");
        string[] slow = ["strace", "-f", "-qq", "-o", "/dev/null", "--seccomp-bpf", "-e", "trace=setsockopt", "-e", $"inject=setsockopt:delay_exit={(int)OpenDelay.TotalMicroseconds}"];
        using var process = SwitchProcess.LaunchUnder(slow, new Dictionary<string, string> { ["NOTIFY_SOCKET"] = _notifyPath }, "run", "--config", config, "--name", _network.Prefix, "--control", control, "--stats", "0");
        try
        {
            Receive(message => message.Contains("READY=1", StringComparison.Ordinal));

            var ports = Cli.Json("port", "show", "--control", control, "-j").EnumerateArray().ToDictionary(row => row.GetProperty("name").GetString()!, row => row.GetProperty("state").GetString());
            Assert.Equal(new Dictionary<string, string?> { ["t1"] = "up", ["late"] = "up" }, ports);
            var output = process.Output;
            var up = output.IndexOf($"port late up: packet {veth}", StringComparison.Ordinal);
            var running = output.IndexOf($"switch {_network.Prefix} running", StringComparison.Ordinal);
            Assert.True(up >= 0 && up < running, $"the late port came up after the switch said it was running:\n{output}");
        }
        finally
        {
            // strace passes no signal on: the switch, its child, is stopped by its own PID.
            StopTracedSwitch(process);
        }
    }

    [Fact]
    public void TheSampleUnitIsANotifyServiceThatReloadsWithSighupAndRestartsOnFailure()
    {
        var unit = File.ReadAllLines(Path.Combine(SwitchProcess.RepositoryRoot, "samples", "userbridge@.service"))
            .Where(line => line.Contains('=', StringComparison.Ordinal) && !line.StartsWith('#'))
            .Select(line => line.Split('=', 2))
            .ToLookup(pair => pair[0], pair => pair[1]);

        Assert.Equal(["notify"], unit["Type"]);
        Assert.Equal(["/usr/local/bin/userbridge run --config /etc/userbridge/%i.toml --name %i --stats 60"], unit["ExecStart"]);
        Assert.Equal(["/bin/kill -HUP $MAINPID"], unit["ExecReload"]);
        Assert.Equal(["on-failure"], unit["Restart"]);
    }

    /// <summary>Stops the switch that <paramref name="tracer"/> (strace) runs, by the switch's PID, and waits for both to end.</summary>
    private static void StopTracedSwitch(SwitchProcess tracer)
    {
        var children = $"/proc/{tracer.Pid}/task/{tracer.Pid}/children";
        foreach (var child in File.Exists(children) ? File.ReadAllText(children).Split(' ', StringSplitOptions.RemoveEmptyEntries) : [])
        {
            _ = LibC.kill(int.Parse(child, CultureInfo.InvariantCulture), LibC.SIGTERM);
        }

        tracer.WaitForExit(Deadline);
    }

    /// <summary>The next notification that matches; fails after the deadline.</summary>
    private string Receive(Func<string, bool> wanted)
    {
        var buffer = new byte[4096];
        var end = DateTime.UtcNow + Deadline;
        while (DateTime.UtcNow < end)
        {
            var length = _notify.Receive(buffer);
            var message = Encoding.UTF8.GetString(buffer, 0, length);
            if (wanted(message))
            {
                return message;
            }
        }

        Assert.Fail("no such notification from the switch within the deadline");
        return string.Empty;
    }
}
