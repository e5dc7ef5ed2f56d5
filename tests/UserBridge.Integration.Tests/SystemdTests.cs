using System.Net.Sockets;
using System.Text;

namespace UserBridge.Integration.Tests;

/// <summary>
/// Running under systemd: <c>Type=notify</c> readiness through <c>NOTIFY_SOCKET</c> once every port is up, and log lines
/// the journal can file by priority. The unit file is <c>samples/userbridge@.service</c>.
/// </summary>
public sealed class SystemdTests : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

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
