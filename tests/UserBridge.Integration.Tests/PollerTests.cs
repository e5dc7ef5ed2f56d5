namespace UserBridge.Integration.Tests;

/// <summary>
/// <c>pollers = 1</c>: one thread serves every port through epoll, run to completion. The same traffic as with a thread
/// per port must pass intact (GSO frames between offload ports, software segmentation towards the others), and a port
/// that fails or is removed must leave the thread serving the rest.
/// </summary>
public sealed class PollerTests : IDisposable
{
    private const int TransferBytes = 4 * 1024 * 1024;

    private readonly TestNetwork _network = new();
    private readonly string _directory;
    private readonly string _control;
    private readonly string _veth;
    private SwitchProcess? _switch;

    public PollerTests()
    {
        _directory = Directory.CreateTempSubdirectory($"{_network.Prefix}-").FullName;
        _control = Path.Combine(_directory, "switch.sock");
        _veth = $"{_network.Prefix}-v3";
    }

    public void Dispose()
    {
        _switch?.Dispose();
        _network.Dispose();
        Shell.Run("ip", "link", "delete", "dev", _veth);
        Directory.Delete(_directory, recursive: true);
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
            var (sent, received) = NamespaceSockets.Transfer(_network, from, to, 7000 + (from * 10) + to, TransferBytes);
            Assert.True(sent.AsSpan().SequenceEqual(received), $"h{from} -> h{to}: the bytes received differ from those sent");
        }

        var ports = Ports();
        Assert.All(ports.Values, port => Assert.True(port.GetProperty("rx_frames").GetInt64() > 0 && port.GetProperty("tx_frames").GetInt64() > 0, $"a port forwarded nothing: {port}"));
    }

    [Fact]
    public void APolledPortWhoseInterfaceVanishesGoesDownAloneAndARemovedOneLeavesThePollerServingTheRest()
    {
        StartThreePorts();
        Assert.Equal(0, _network.Ping(1, 3).ExitCode);

        Shell.Check("ip", "link", "delete", "dev", _veth);
        Waiting.Until(() => Ports()["veth"].GetProperty("state").GetString() == "down", "port veth to go down when its interface vanished", TimeSpan.FromSeconds(10));
        var afterVanish = _network.Ping(1, 2);
        Assert.True(afterVanish.ExitCode == 0, $"h1 -> h2 after the veth vanished: {afterVanish.Output}{afterVanish.Error}");

        Cli.Run("port", "del", "plain", "--control", _control);
        Assert.False(Ports().ContainsKey("plain"));
        Assert.NotEqual(0, Shell.Run("ip", "-n", _network.Namespace(2), "link", "show", _network.Tap(2)).ExitCode);

        Cli.Run("port", "add", "again", "--type", "tap", "--interface", _network.Tap(4), "--mode", "access", "--vlan", "10", "--control", _control);
        _network.AddHost(4);
        var (sent, received) = NamespaceSockets.Transfer(_network, 1, 4, 7104, TransferBytes);
        Assert.True(sent.AsSpan().SequenceEqual(received), "h1 -> h4 through a port added to the poller at runtime: the bytes differ");
        Assert.Contains("ub-poll-0", ThreadNames());
    }

    private void StartThreePorts()
    {
        Privileged.Require("ping");
        Shell.Check("ip", "link", "add", _veth, "type", "veth", "peer", "name", _network.Tap(3));
        Shell.Check("ip", "link", "set", _veth, "up");
        var config = Path.Combine(_directory, "switch.toml");
        File.WriteAllText(config, $"""
            pollers = 1

            [[port]]
            name = "gso"
            interface = "{_network.Tap(1)}"
            mode = "access"
            vlan = 10

            [[port]]
            name = "plain"
            interface = "{_network.Tap(2)}"
            offload = false
            mode = "access"
            vlan = 10

            [[port]]
            name = "veth"
            type = "packet"
            interface = "{_veth}"
            mode = "access"
            vlan = 10
            """);
        _switch = SwitchProcess.StartSwitch("--config", config, "--name", _network.Prefix, "--control", _control);
        for (var host = 1; host <= 3; host++)
        {
            _network.AddHost(host);
        }
    }

    private Dictionary<string, System.Text.Json.JsonElement> Ports() =>
        Cli.Json("port", "show", "--control", _control, "-j").EnumerateArray().ToDictionary(row => row.GetProperty("name").GetString()!);

    private List<string> ThreadNames() =>
        [.. Directory.GetDirectories($"/proc/{_switch!.Pid}/task").Select(task => File.ReadAllText(Path.Combine(task, "comm")).Trim())];
}
