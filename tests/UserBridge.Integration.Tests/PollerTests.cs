namespace UserBridge.Integration.Tests;

/// <summary>
/// <c>pollers = 1</c>: one thread serves every port through epoll, run to completion. The same traffic as with a thread
/// per port must pass intact (GSO frames between offload ports, software segmentation towards the others), and a port
/// that fails or is removed must leave the thread serving the rest.
/// </summary>
public sealed class PollerTests : IDisposable
{
    private const int TransferBytes = 4 * 1024 * 1024;

    private readonly SwitchLab _lab = new();
    private readonly string _veth;

    public PollerTests() => _veth = $"{_lab.Network.Prefix}-v3";

    public void Dispose()
    {
        _lab.Dispose();
        Shell.Run("ip", "link", "delete", "dev", _veth);
    }

    [Fact]
    public void OnePollerServesEveryPortAndCarriesTcpIntactBetweenOffloadAndPlainPorts()
    {
        StartThreePorts();

        var threads = ThreadNames();
        Assert.Contains("ub-poll-0", threads);
        Assert.DoesNotContain(threads, name => name.StartsWith("ub-rx-", StringComparison.Ordinal));

        foreach (var (from, to) in new[] { (1, 2), (2, 3), (3, 1) })
        {
            var (sent, received) = NamespaceSockets.Transfer(_lab.Network, from, to, 7000 + (from * 10) + to, TransferBytes);
            Assert.True(sent.AsSpan().SequenceEqual(received), $"h{from} -> h{to}: the bytes received differ from those sent");
        }

        var ports = Ports();
        Assert.All(ports.Values, port => Assert.True(port.GetProperty("rx_frames").GetInt64() > 0 && port.GetProperty("tx_frames").GetInt64() > 0, $"a port forwarded nothing: {port}"));
    }

    [Fact]
    public void APolledPortWhoseInterfaceVanishesGoesDownAloneAndARemovedOneLeavesThePollerServingTheRest()
    {
        StartThreePorts();
        Assert.Equal(0, _lab.Network.Ping(1, 3).ExitCode);

        Shell.Check("ip", "link", "delete", "dev", _veth);
        Waiting.Until(() => Ports()["veth"].GetProperty("state").GetString() == "down", "port veth to go down when its interface vanished", TimeSpan.FromSeconds(10));
        var afterVanish = _lab.Network.Ping(1, 2);
        Assert.True(afterVanish.ExitCode == 0, $"h1 -> h2 after the veth vanished: {afterVanish.Output}{afterVanish.Error}");

        Cli.Run("port", "del", "plain", "--control", _lab.Control);
        Assert.False(Ports().ContainsKey("plain"));
        Assert.NotEqual(0, Shell.Run("ip", "-n", _lab.Network.Namespace(2), "link", "show", _lab.Network.Tap(2)).ExitCode);

        Cli.Run("port", "add", "again", "--type", "tap", "--interface", _lab.Network.Tap(4), "--mode", "access", "--vlan", "10", "--control", _lab.Control);
        _lab.Network.AddHost(4);
        var (sent, received) = NamespaceSockets.Transfer(_lab.Network, 1, 4, 7104, TransferBytes);
        Assert.True(sent.AsSpan().SequenceEqual(received), "h1 -> h4 through a port added to the poller at runtime: the bytes differ");
        Assert.Contains("ub-poll-0", ThreadNames());
    }

    private void StartThreePorts()
    {
        Privileged.Require("ping");
        var config = _lab.WriteConfig("pollers = 1\n\n" + _lab.OffloadPairingPorts(_veth));
        _lab.Start("--config", config);
        for (var host = 1; host <= 3; host++)
        {
            _lab.Network.AddHost(host);
        }
    }

    private Dictionary<string, System.Text.Json.JsonElement> Ports() =>
        Cli.Json("port", "show", "--control", _lab.Control, "-j").EnumerateArray().ToDictionary(row => row.GetProperty("name").GetString()!);

    private List<string> ThreadNames() =>
        [.. Directory.GetDirectories($"/proc/{_lab.Switch!.Pid}/task").Select(task => File.ReadAllText(Path.Combine(task, "comm")).Trim())];
}
