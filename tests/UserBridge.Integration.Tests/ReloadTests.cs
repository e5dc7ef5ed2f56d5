using Tmds.Linux;

namespace UserBridge.Integration.Tests;

/// <summary><c>userbridge reload</c> and SIGHUP: only the difference is applied, and an unchanged pair loses nothing.</summary>
public sealed class ReloadTests : IDisposable
{
    private const int Pings = 400;

    private readonly SwitchLab _lab = new();
    private readonly string _config;

    public ReloadTests() => _config = Path.Combine(_lab.Directory, "switch.toml");

    public void Dispose() => _lab.Dispose();

    [Fact]
    public async Task AReloadAddsRemovesAndChangesPortsWhileAnUnchangedPairLosesNothing()
    {
        Privileged.Require("ping");
        WriteConfig(_lab.TapPort(1), _lab.TapPort(2), _lab.TapPort(3), _lab.TapPort(5));
        _lab.Start("--config", _config);
        _lab.Network.AddHost(1);
        _lab.Network.AddHost(2);
        Assert.Equal(0, _lab.Network.Ping(1, 2).ExitCode);

        var pinging = Task.Run(() => Shell.Run("ip", "netns", "exec", _lab.Network.Namespace(1), "ping", "-c", $"{Pings}", "-i", "0.005", "-W", "1", "-q", TestNetwork.Address(2)), TestContext.Current.CancellationToken);
        await Task.Delay(300, TestContext.Current.CancellationToken);
        WriteConfig(_lab.TapPort(1), _lab.TapPort(2), _lab.TapPort(3, "mode = \"access\"\nvlan = 30"), _lab.TapPort(4));
        var reloaded = Cli.Run("reload", "--control", _lab.Control);
        var ping = await pinging.WaitAsync(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);

        Assert.Equal("port p5 removed\nport p3: VLAN settings changed\nport p4 added: tap " + _lab.Network.Tap(4), reloaded);
        Assert.True(ping.Output.Contains($"{Pings} packets transmitted, {Pings} received", StringComparison.Ordinal), $"the unchanged pair lost pings during the reload: {ping.Output}");
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

    private List<string> PortNames() =>
        [.. Cli.Json("port", "show", "--control", _lab.Control, "-j").EnumerateArray().Select(row => row.GetProperty("name").GetString()!).Order()];

    private void WriteConfig(params string[] ports) => File.WriteAllText(_config, string.Join('\n', ports));
}
