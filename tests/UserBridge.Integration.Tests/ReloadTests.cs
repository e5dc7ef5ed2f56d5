using Tmds.Linux;

namespace UserBridge.Integration.Tests;

/// <summary>
/// <c>userbridge reload</c> and SIGHUP: only the difference is applied, and an unchanged pair loses nothing; a reload
/// that fails anywhere is undone whole, so that what runs is always what the recorded config says.
/// </summary>
public sealed class ReloadTests : IDisposable
{
    // 7.5 s of pings; at least a second of them before the reload and after it.
    private const int Pings = 1500;
    private const int PingsAround = 200;
    private static readonly TimeSpan PingDeadline = TimeSpan.FromSeconds(30);

    private readonly SwitchLab _lab = new();
    private readonly List<string> _veths = [];
    private readonly string _config;

    public ReloadTests() => _config = Path.Combine(_lab.Directory, "switch.toml");

    public void Dispose()
    {
        _lab.Dispose();
        foreach (var veth in _veths.Where(TestNetwork.InterfaceExists))
        {
            Shell.Run("ip", "link", "delete", "dev", veth);
        }
    }

    [Fact]
    public async Task AReloadAddsRemovesAndChangesPortsWhileAnUnchangedPairLosesNothing()
    {
        Privileged.Require("ping");
        WriteConfig(_lab.TapPort(1), _lab.TapPort(2), _lab.TapPort(3), _lab.TapPort(5));
        _lab.Start("--config", _config);
        _lab.Network.AddHost(1);
        _lab.Network.AddHost(2);
        Assert.Equal(0, _lab.Network.Ping(1, 2).ExitCode);

        // Pings every 5 ms from before the reload starts until well after it ended: the reload falls inside the run.
        string summary;
        string reloaded;
        using (var ping = BackgroundPing.Start(_lab.Network.Namespace(1), TestNetwork.Address(2), intervalSeconds: 0.005, count: Pings))
        {
            ping.WaitForReplies(PingsAround, PingDeadline);
            WriteConfig(_lab.TapPort(1), _lab.TapPort(2), _lab.TapPort(3, "mode = \"access\"\nvlan = 30"), _lab.TapPort(4));
            reloaded = Cli.Run("reload", "--control", _lab.Control);
            Assert.True(ping.Replies <= Pings - PingsAround, $"the reload took so long that only {Pings - ping.Replies} pings were left after it");
            summary = await ping.FinishAsync(PingDeadline);
        }

        Assert.Equal("port p5 removed\nport p3: VLAN settings changed\nport p4 added: tap " + _lab.Network.Tap(4), reloaded);
        Assert.True(summary.Contains($"{Pings} packets transmitted, {Pings} received", StringComparison.Ordinal), $"the unchanged pair lost pings during the reload: {summary}");
        var ports = Cli.Json("port", "show", "--control", _lab.Control, "-j").EnumerateArray().ToDictionary(row => row.GetProperty("name").GetString()!);
        Assert.Equal(["p1", "p2", "p3", "p4"], ports.Keys.Order());
        Assert.Equal(30, ports["p3"].GetProperty("vlan").GetProperty("vlan").GetInt32());
        Assert.False(TestNetwork.InterfaceExists(_lab.Network.Tap(5)), "the removed port's TAP is still there");
        Assert.True(TestNetwork.InterfaceExists(_lab.Network.Tap(4)), "the added port's TAP was not created");
    }

    [Fact]
    public void ABadFileIsRefusedWholeWithItsLineAndTheRunningConfigStaysThenSighupReloads()
    {
        Privileged.Require();
        WriteConfig(_lab.TapPort(1), _lab.TapPort(2));
        _lab.Start("--config", _config);

        WriteConfig(_lab.TapPort(1), _lab.TapPort(2, "vlna = 20"), _lab.TapPort(3));
        var badLine = Array.FindIndex(File.ReadAllLines(_config), line => line.StartsWith("vlna", StringComparison.Ordinal)) + 1;
        using (var refused = SwitchProcess.Launch("reload", "--control", _lab.Control))
        {
            Assert.NotEqual(0, refused.WaitForExit(TimeSpan.FromSeconds(20)));
            Assert.Contains($"{_config}:{badLine}: unknown key 'vlna' in [[port]]", refused.Errors, StringComparison.Ordinal);
        }

        Assert.Equal(["p1", "p2"], PortNames());
        Assert.False(TestNetwork.InterfaceExists(_lab.Network.Tap(3)));

        WriteConfig(_lab.TapPort(1), _lab.TapPort(3));
        Assert.Equal(0, LibC.kill(_lab.Switch!.Pid, LibC.SIGHUP));
        Waiting.Until(() => PortNames().SequenceEqual(["p1", "p3"]), "SIGHUP to apply the new config", TimeSpan.FromSeconds(20));
        _lab.Switch!.WaitForOutput("reload: port p2 removed; port p3 added", TimeSpan.FromSeconds(10));
        Assert.True(TestNetwork.InterfaceExists(_lab.Network.Tap(3)));
    }

    [Fact]
    public void AnOutOfRangeNumberIsRefusedWithItsLineByReloadAndSighupAndTheSwitchKeepsRunning()
    {
        Privileged.Require();
        WriteConfig(_lab.TapPort(1), _lab.TapPort(2));
        _lab.Start("--config", _config);

        WriteConfig("aging = \"256204779h\"", _lab.TapPort(1), _lab.TapPort(3));
        Assert.Equal(0, LibC.kill(_lab.Switch!.Pid, LibC.SIGHUP));
        Waiting.Until(() => _lab.Switch.Errors.Contains($"reload refused, the running config stays: {_config}:1: aging must be", StringComparison.Ordinal), "the switch to refuse the SIGHUP reload", TimeSpan.FromSeconds(20));
        Assert.Equal(["p1", "p2"], PortNames());
        Assert.DoesNotContain("Unhandled exception", _lab.Switch.Errors, StringComparison.Ordinal);

        foreach (var (bad, expected) in new[]
        {
            ("aging = \"256204779h\"", "aging must be a duration from 1s to 1000000s"),
            ("aging = 1000001", "aging must be a duration from 1s to 1000000s"),
            (_lab.TapPort(3, "mtu = 65536"), "mtu must be an integer from 68 to 65535"),
            (_lab.TapPort(3, "queues = 1e999"), "queues must be an integer from 1 to 16"),
            ($"[[port]]\nname = \"vm\"\ntype = \"qemu-stream\"\npath = \"{_lab.Directory}/vm.sock\"\ngroup = 1e999", "group must be a string in double quotes"),
            ($"[capture]\nfile = \"{_lab.Directory}/all.pcapng\"\nsnaplen = 262145", "snaplen must be an integer from 64 to 262144"),
        })
        {
            // A top-level key goes before the first table (after it, it would be a key of that table).
            WriteConfig(bad.StartsWith("aging", StringComparison.Ordinal) ? [bad, _lab.TapPort(1), _lab.TapPort(2)] : [_lab.TapPort(1), _lab.TapPort(2), bad]);
            var key = expected[..expected.IndexOf(' ', StringComparison.Ordinal)];
            var line = Array.FindIndex(File.ReadAllLines(_config), text => text.StartsWith(key, StringComparison.Ordinal)) + 1;
            using var refused = SwitchProcess.Launch("reload", "--control", _lab.Control);
            Assert.Equal(1, refused.WaitForExit(TimeSpan.FromSeconds(20)));
            Assert.Contains($"reload refused, the running config stays: {_config}:{line}: {expected}", refused.Errors, StringComparison.Ordinal);
            Assert.Equal(["p1", "p2"], PortNames());
        }

        WriteConfig(_lab.TapPort(1), _lab.TapPort(3));
        Assert.Equal("port p2 removed\nport p3 added: tap " + _lab.Network.Tap(3), Cli.Run("reload", "--control", _lab.Control));
    }

    [Fact]
    public void AReloadWhoseNewStreamPortCannotListenLeavesTheNewTapClosedAndALaterReloadAppliesIt()
    {
        Privileged.Require("ping");
        WriteConfig(_lab.TapPort(1), _lab.TapPort(2), _lab.TapPort(3));
        _lab.Start("--config", _config);
        var stream = (string directory) => $"[[port]]\nname = \"p5\"\ntype = \"qemu-stream\"\npath = \"{directory}/p5.sock\"\n";

        WriteConfig(_lab.TapPort(1), _lab.TapPort(2), _lab.TapPort(3), _lab.TapPort(4), stream(Path.Combine(_lab.Directory, "missing")));
        var refused = Cli.Fail("reload", "--control", _lab.Control);

        Assert.Equal(["p1", "p2", "p3"], PortNames());
        Assert.False(TestNetwork.InterfaceExists(_lab.Network.Tap(4)), "the new TAP p4 was left open after the reload failed");
        Assert.Contains("reload refused, the running config stays", refused, StringComparison.Ordinal);
        Assert.Contains("p5.sock", refused, StringComparison.Ordinal);

        WriteConfig(_lab.TapPort(1), _lab.TapPort(2), _lab.TapPort(3), _lab.TapPort(4), stream(_lab.Directory));
        Assert.Equal($"port p4 added: tap {_lab.Network.Tap(4)}\nport p5 added: qemu-stream {_lab.Directory}/p5.sock", Cli.Run("reload", "--control", _lab.Control));
        Assert.Equal(["p1", "p2", "p3", "p4"], PortNames());

        WriteConfig(_lab.TapPort(1), _lab.TapPort(2), _lab.TapPort(3), stream(_lab.Directory));
        Assert.Equal("port p4 removed", Cli.Run("reload", "--control", _lab.Control));
        Assert.Equal(["p1", "p2", "p3"], PortNames());
        Assert.False(TestNetwork.InterfaceExists(_lab.Network.Tap(4)), "the removed port's TAP is still there");
    }

    [Fact]
    public void ChangedPortsWhoseReopenFailsAreReopenedAsTheyWereAndForwardAgain()
    {
        Privileged.Require("ping");
        WriteConfig(_lab.TapPort(1), PacketPort(2), PacketPort(3));
        _lab.Start("--config", _config);
        _lab.Network.AddHost(1);
        _lab.Network.AddHost(2);
        _lab.Network.AddHost(3);
        Waiting.Until(() => _lab.Network.Ping(1, 2).ExitCode == 0 && _lab.Network.Ping(1, 3).ExitCode == 0, "hosts 2 and 3 to answer through their packet ports", TimeSpan.FromSeconds(30));

        // p2 re-opens with a VLAN (a packet port's VLAN change re-opens it), then p3 cannot become a stream listener.
        WriteConfig(_lab.TapPort(1), PacketPort(2, "mode = \"access\"\nvlan = 20"), $"[[port]]\nname = \"p3\"\ntype = \"qemu-stream\"\npath = \"{_lab.Directory}/missing/p3.sock\"\n");
        var refused = Cli.Fail("reload", "--control", _lab.Control);

        var ports = Cli.Json("port", "show", "--control", _lab.Control, "-j").EnumerateArray().ToDictionary(row => row.GetProperty("name").GetString()!);
        Assert.Equal(["p1", "p2", "p3"], ports.Keys.Order());
        Assert.Equal("packet", ports["p3"].GetProperty("type").GetString());
        Assert.Equal("transparent", ports["p2"].GetProperty("vlan_mode").GetString());
        Waiting.Until(() => _lab.Network.Ping(1, 2).ExitCode == 0 && _lab.Network.Ping(1, 3).ExitCode == 0, "hosts 2 and 3 to answer again after the rollback", TimeSpan.FromSeconds(30));
        Assert.Contains("reload refused, the running config stays", refused, StringComparison.Ordinal);
    }

    [Fact]
    public void AMirrorToAStreamListenerWithNoVmIsRefusedWithItsLineBeforeAnythingOpens()
    {
        Privileged.Require();
        WriteConfig(_lab.TapPort(1), _lab.TapPort(2));
        _lab.Start("--config", _config);

        WriteConfig(_lab.TapPort(1), _lab.TapPort(2), _lab.TapPort(4), $"[[port]]\nname = \"vm\"\ntype = \"qemu-stream\"\npath = \"{_lab.Directory}/vm.sock\"\n", "[[mirror]]\nsource = [\"p1\"]\noutput = \"vm\"\n");
        var line = Array.IndexOf(File.ReadAllLines(_config), "[[mirror]]") + 1;
        var refused = Cli.Fail("reload", "--control", _lab.Control);

        Assert.Equal(["p1", "p2"], PortNames());
        Assert.False(TestNetwork.InterfaceExists(_lab.Network.Tap(4)), "the new TAP p4 was opened for a reload that failed");
        Assert.False(File.Exists(Path.Combine(_lab.Directory, "vm.sock")), "the listener was opened for a reload that failed");
        Assert.Contains($"{_config}:{line}: [[mirror]] names port 'vm', a qemu-stream listener", refused, StringComparison.Ordinal);
        Assert.Empty(Cli.Json("mirror", "show", "--control", _lab.Control, "-j").EnumerateArray());

        WriteConfig(_lab.TapPort(1), _lab.TapPort(2), _lab.TapPort(4), "[[mirror]]\nsource = [\"p1\"]\noutput = \"p4\"\n");
        Assert.Equal($"port p4 added: tap {_lab.Network.Tap(4)}\nmirror p1 (both) -> p4", Cli.Run("reload", "--control", _lab.Control));
    }

    /// <summary>A packet port <c>pHOST</c> on a veth whose peer is host <paramref name="host"/>'s interface (moved into its namespace by AddHost).</summary>
    private string PacketPort(int host, string extra = "")
    {
        var veth = $"{_lab.Network.Prefix}-v{host}";
        if (!_veths.Contains(veth))
        {
            _veths.Add(veth);
            Shell.Check("ip", "link", "add", veth, "type", "veth", "peer", "name", _lab.Network.Tap(host));
            Shell.Check("ip", "link", "set", veth, "up");
        }

        return $"[[port]]\nname = \"p{host}\"\ntype = \"packet\"\ninterface = \"{veth}\"\n{extra}\n";
    }

    private List<string> PortNames() =>
        [.. Cli.Json("port", "show", "--control", _lab.Control, "-j").EnumerateArray().Select(row => row.GetProperty("name").GetString()!).Order()];

    private void WriteConfig(params string[] ports) => File.WriteAllText(_config, string.Join('\n', ports));
}
