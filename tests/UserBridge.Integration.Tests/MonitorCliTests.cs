using System.Text.Json;

namespace UserBridge.Integration.Tests;

/// <summary><c>userbridge monitor</c> against the real switch: the events of real traffic, in the order they happened.</summary>
public sealed class MonitorCliTests : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);
    private static readonly JsonSerializerOptions JsonOptions = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    private readonly SwitchLab _lab = new();

    public void Dispose() => _lab.Dispose();

    [Fact]
    public void MonitorShowsALearnAMoveAnAgeOutAndAPortDownInOrder()
    {
        Privileged.Require("ping");
        var config = _lab.WriteConfig(_lab.TapPorts(3, header: "aging = \"2s\"\n"));
        _lab.Start("--config", config);
        for (var host = 1; host <= 3; host++)
        {
            _lab.Network.AddHost(host);
        }

        // Forget what the hosts sent while their links came up, so the monitor sees host 1's MAC learned afresh.
        var mac1 = _lab.Network.MacOf(1);
        Cli.Run("fdb", "flush", "--control", _lab.Control);
        using var monitor = SwitchProcess.Launch("monitor", "-j", "--control", _lab.Control);
        Waiting.Until(() => Cli.Json("stats", "--control", _lab.Control, "-j").GetProperty("ports").GetInt32() == 3 && MonitorConnected(), "the monitor to connect", Deadline);

        Assert.Equal(0, _lab.Network.Ping(1, 2).ExitCode);

        // Host 3 takes host 1's MAC: the switch sees it move from p1 to p3.
        Shell.Check("ip", "-n", _lab.Network.Namespace(3), "link", "set", "dev", _lab.Network.Tap(3), "address", mac1);
        Assert.Equal(0, _lab.Network.Ping(3, 2).ExitCode);

        Waiting.Until(() => Events(monitor).Any(e => e.Event == "aged" && e.Mac == mac1), $"{mac1} to age out", Deadline);
        Cli.Run("port", "set", "p3", "--down", "--control", _lab.Control);
        Waiting.Until(() => Events(monitor).Any(e => e.Event == "port_down"), "the port-down event", Deadline);

        var events = Events(monitor);
        var learned = events.FindIndex(e => e is { Event: "learned", Port: "p1" } && e.Mac == mac1);
        var moved = events.FindIndex(e => e is { Event: "moved", Port: "p3", From: "p1" } && e.Mac == mac1);
        var aged = events.FindIndex(e => e is { Event: "aged", Port: "p3" } && e.Mac == mac1);
        var down = events.FindIndex(e => e is { Event: "port_down", Port: "p3" });
        var shown = string.Join('\n', monitor.Output);
        Assert.True(learned >= 0 && learned < moved && moved < aged && aged < down, $"expected learned < moved < aged < port_down for {mac1}, got {learned}, {moved}, {aged}, {down}:\n{shown}");
        Assert.Contains(events, e => e is { Event: "learned", Port: "p2" } && e.Mac == _lab.Network.MacOf(2));
    }

    [Fact]
    public void MonitorPrintsTextLinesAndStopsAfterTheCountItWasGiven()
    {
        Privileged.Require("ping");
        _lab.Start("--tap", _lab.Network.Tap(1), "--tap", _lab.Network.Tap(2));
        using var monitor = SwitchProcess.Launch("monitor", "--count", "2", "--control", _lab.Control);
        Waiting.Until(MonitorConnected, "the monitor to connect", Deadline);

        Cli.Run("port", "set", _lab.Network.Tap(2), "--down", "--control", _lab.Control);
        Cli.Run("port", "set", _lab.Network.Tap(2), "--up", "--control", _lab.Control);

        Assert.Equal(0, monitor.WaitForExit(Deadline));
        var lines = monitor.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.Matches($@"^\d\d:\d\d:\d\d\.\d\d\d port {_lab.Network.Tap(2)} down$", lines[0]);
        Assert.Matches($@"^\d\d:\d\d:\d\d\.\d\d\d port {_lab.Network.Tap(2)} up$", lines[1]);
    }

    /// <summary>True once the switch has a monitor client: it then records events (seen as the stats verb's view of it).</summary>
    private bool MonitorConnected() => Cli.Json("stats", "--control", _lab.Control, "-j").GetProperty("monitors").GetInt32() > 0;

    private static List<MonitorEvent> Events(SwitchProcess monitor) =>
        [.. monitor.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonSerializer.Deserialize<MonitorEvent>(line, JsonOptions)!)];

    private sealed record MonitorEvent(string Event, string? Mac, string? Port, string? From);
}
