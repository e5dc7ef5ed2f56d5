using System.Text.Json;

namespace UserBridge.Integration.Tests;

/// <summary><c>userbridge monitor</c> against the real switch: the events of real traffic, in the order they happened.</summary>
public sealed class MonitorCliTests : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);
    private static readonly JsonSerializerOptions JsonOptions = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    private readonly TestNetwork _network = new();
    private readonly string _directory;
    private readonly string _control;
    private SwitchProcess? _switch;

    public MonitorCliTests()
    {
        _directory = Directory.CreateTempSubdirectory($"{_network.Prefix}-").FullName;
        _control = Path.Combine(_directory, "switch.sock");
    }

    public void Dispose()
    {
        _switch?.Dispose();
        _network.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public void MonitorShowsALearnAMoveAnAgeOutAndAPortDownInOrder()
    {
        Privileged.Require("ping");
        var config = Path.Combine(_directory, "switch.toml");
        File.WriteAllText(config, $"""
            aging = "2s"

            [[port]]
            name = "p1"
            interface = "{_network.Tap(1)}"

            [[port]]
            name = "p2"
            interface = "{_network.Tap(2)}"

            [[port]]
            name = "p3"
            interface = "{_network.Tap(3)}"
            """);
        _switch = SwitchProcess.StartSwitch("--config", config, "--name", _network.Prefix, "--control", _control);
        for (var host = 1; host <= 3; host++)
        {
            _network.AddHost(host);
        }

        // Forget what the hosts sent while their links came up, so the monitor sees host 1's MAC learned afresh.
        var mac1 = _network.MacOf(1);
        Cli.Run("fdb", "flush", "--control", _control);
        using var monitor = SwitchProcess.Launch("monitor", "-j", "--control", _control);
        Waiting.Until(() => Cli.Json("stats", "--control", _control, "-j").GetProperty("ports").GetInt32() == 3 && MonitorConnected(), "the monitor to connect", Deadline);

        Assert.Equal(0, _network.Ping(1, 2).ExitCode);

        // Host 3 takes host 1's MAC: the switch sees it move from p1 to p3.
        Shell.Check("ip", "-n", _network.Namespace(3), "link", "set", "dev", _network.Tap(3), "address", mac1);
        Assert.Equal(0, _network.Ping(3, 2).ExitCode);

        Waiting.Until(() => Events(monitor).Any(e => e.Event == "aged" && e.Mac == mac1), $"{mac1} to age out", Deadline);
        Cli.Run("port", "set", "p3", "--down", "--control", _control);
        Waiting.Until(() => Events(monitor).Any(e => e.Event == "port_down"), "the port-down event", Deadline);

        var events = Events(monitor);
        var learned = events.FindIndex(e => e is { Event: "learned", Port: "p1" } && e.Mac == mac1);
        var moved = events.FindIndex(e => e is { Event: "moved", Port: "p3", From: "p1" } && e.Mac == mac1);
        var aged = events.FindIndex(e => e is { Event: "aged", Port: "p3" } && e.Mac == mac1);
        var down = events.FindIndex(e => e is { Event: "port_down", Port: "p3" });
        var shown = string.Join('\n', monitor.Output);
        Assert.True(learned >= 0 && learned < moved && moved < aged && aged < down, $"expected learned < moved < aged < port_down for {mac1}, got {learned}, {moved}, {aged}, {down}:\n{shown}");
        Assert.Contains(events, e => e is { Event: "learned", Port: "p2" } && e.Mac == _network.MacOf(2));
    }

    [Fact]
    public void MonitorPrintsTextLinesAndStopsAfterTheCountItWasGiven()
    {
        Privileged.Require("ping");
        _switch = SwitchProcess.StartSwitch("--tap", _network.Tap(1), "--tap", _network.Tap(2), "--name", _network.Prefix, "--control", _control);
        using var monitor = SwitchProcess.Launch("monitor", "--count", "2", "--control", _control);
        Waiting.Until(MonitorConnected, "the monitor to connect", Deadline);

        Cli.Run("port", "set", _network.Tap(2), "--down", "--control", _control);
        Cli.Run("port", "set", _network.Tap(2), "--up", "--control", _control);

        Assert.Equal(0, monitor.WaitForExit(Deadline));
        var lines = monitor.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.Matches($@"^\d\d:\d\d:\d\d\.\d\d\d port {_network.Tap(2)} down$", lines[0]);
        Assert.Matches($@"^\d\d:\d\d:\d\d\.\d\d\d port {_network.Tap(2)} up$", lines[1]);
    }

    /// <summary>True once the switch has a monitor client: it then records events (seen as the stats verb's view of it).</summary>
    private bool MonitorConnected() => Cli.Json("stats", "--control", _control, "-j").GetProperty("monitors").GetInt32() > 0;

    private static List<MonitorEvent> Events(SwitchProcess monitor) =>
        [.. monitor.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonSerializer.Deserialize<MonitorEvent>(line, JsonOptions)!)];

    private sealed record MonitorEvent(string Event, string? Mac, string? Port, string? From);
}
