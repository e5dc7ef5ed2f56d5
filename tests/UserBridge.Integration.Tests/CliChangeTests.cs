namespace UserBridge.Integration.Tests;

/// <summary>
/// The CLI's changing verbs against the real switch, text and JSON: <c>stats</c>, <c>fdb add|del|flush</c> and
/// <c>port set</c>, each checked by the traffic between two namespaces behind TAP ports.
/// </summary>
public sealed class CliChangeTests : IDisposable
{
    private const string Station = "02:00:00:5e:00:99";

    private readonly TestNetwork _network = new();
    private readonly string _control;
    private SwitchProcess? _switch;

    public CliChangeTests() => _control = Path.Combine(Path.GetTempPath(), $"{_network.Prefix}.sock");

    public void Dispose()
    {
        _switch?.Dispose();
        _network.Dispose();
    }

    [Fact]
    public void StatsCountTheTrafficAndTheLearnedStations()
    {
        StartTwoHosts();
        Assert.Equal(0, _network.Ping(1, 2).ExitCode);

        var stats = Cli.Json("stats", "--control", _control, "-j");
        Assert.Equal(2, stats.GetProperty("ports").GetInt32());
        Assert.True(stats.GetProperty("rx_frames").GetInt64() >= 4, $"too few frames counted: {stats}");
        Assert.True(stats.GetProperty("mac_table").GetProperty("learned").GetInt64() >= 2, $"the two hosts were not counted as learned: {stats}");
        Assert.Equal(0, stats.GetProperty("drops").GetProperty("too_short").GetInt64());

        var text = Cli.Run("stats", "--control", _control, "--port", _network.Tap(2));
        Assert.Contains($"port ", text, StringComparison.Ordinal);
        Assert.Contains(_network.Tap(2), text, StringComparison.Ordinal);
        Assert.Matches(@"(?m)^mac_entries\s+1$", text);
        Assert.Matches(@"(?m)^rx_frames\s+[1-9]", text);
    }

    [Fact]
    public void AStaticEntryPinsAStationToItsPortUntilDeletedAndFlushForgetsLearnedOnes()
    {
        StartTwoHosts();
        Assert.Equal(0, _network.Ping(1, 2).ExitCode);

        Assert.Equal($"{Station} vlan 0 on port {_network.Tap(2)}: static entry added", Cli.Run("fdb", "add", Station, "--port", _network.Tap(2), "--control", _control));
        var fdb = Cli.Json("fdb", "show", "--control", _control, "-j").EnumerateArray().ToList();
        var pinned = Assert.Single(fdb, row => row.GetProperty("mac").GetString() == Station);
        Assert.True(pinned.GetProperty("static").GetBoolean());
        Assert.Equal(_network.Tap(2), pinned.GetProperty("port").GetString());

        var flushed = Cli.Json("fdb", "flush", "--port", _network.Tap(1), "--control", _control, "-j");
        Assert.Equal(1, flushed.GetProperty("flushed").GetInt32());
        var afterFlush = Cli.Json("fdb", "show", "--control", _control, "-j").EnumerateArray().Select(row => row.GetProperty("mac").GetString()).ToList();
        Assert.DoesNotContain(_network.MacOf(1), afterFlush);
        Assert.Contains(_network.MacOf(2), afterFlush);
        Assert.Contains(Station, afterFlush);
        Assert.Contains("learned entries removed", Cli.Run("fdb", "flush", "--control", _control), StringComparison.Ordinal);

        var deleted = Cli.Json("fdb", "del", Station, "--control", _control, "-j");
        Assert.Equal(Station, deleted.GetProperty("removed").GetString());
        Assert.DoesNotContain(Cli.Json("fdb", "show", "--control", _control, "-j").EnumerateArray(), row => row.GetProperty("mac").GetString() == Station);
    }

    [Fact]
    public void PortSetTakesAPortDownAndUpAndMovesItBetweenVlans()
    {
        StartTwoHosts();
        Assert.Equal(0, _network.Ping(1, 2).ExitCode);

        var down = Cli.Run("port", "set", _network.Tap(2), "--down", "--control", _control);
        Assert.Matches($@"(?m)^{_network.Tap(2)}\s+tap\s+{_network.Tap(2)}\s+down\s", down);
        Assert.NotEqual(0, _network.Ping(1, 2).ExitCode);

        var up = Cli.Json("port", "set", _network.Tap(2), "--up", "--control", _control, "-j");
        Assert.Equal("up", up.GetProperty("state").GetString());
        Assert.Equal(0, _network.Ping(1, 2).ExitCode);

        var moved = Cli.Json("port", "set", _network.Tap(1), "--mode", "access", "--vlan", "20", "--control", _control, "-j");
        Assert.Equal("access", moved.GetProperty("vlan_mode").GetString());
        Assert.Equal(20, moved.GetProperty("vlan").GetProperty("vlan").GetInt32());
        Assert.NotEqual(0, _network.Ping(1, 2).ExitCode);

        Cli.Run("port", "set", _network.Tap(2), "--vlan", "20", "--control", _control);
        Assert.Equal(0, _network.Ping(1, 2).ExitCode);
        var vlans = Cli.Json("vlan", "show", "--control", _control, "-j");
        var vlan20 = Assert.Single(vlans.EnumerateArray());
        Assert.Equal(20, vlan20.GetProperty("vlan").GetInt32());
        Assert.Equal(2, vlan20.GetProperty("ports").GetArrayLength());
    }

    [Fact]
    public void MirrorAddCopiesAPortsTrafficToAnotherUntilMirrorDel()
    {
        StartHosts(3, "tcpdump");
        Assert.Equal(0, _network.Ping(1, 2).ExitCode);
        Assert.Equal(0, _network.Ping(1, 3).ExitCode);

        var added = Cli.Run("mirror", "add", "--source", _network.Tap(1), "--output", _network.Tap(3), "--direction", "in", "--control", _control);
        Assert.Matches($@"(?m)^{_network.Tap(1)}\s+in\s+{_network.Tap(3)}\s+-\s*$", added);
        var shown = Assert.Single(Cli.Json("mirror", "show", "--control", _control, "-j").EnumerateArray());
        Assert.Equal(_network.Tap(3), shown.GetProperty("output").GetString());
        Assert.Contains($"{TestNetwork.Address(1)} > {TestNetwork.Address(2)}", Captured(), StringComparison.Ordinal);

        Assert.Equal($"mirror to {_network.Tap(3)} removed", Cli.Run("mirror", "del", _network.Tap(3), "--control", _control));
        Assert.Empty(Cli.Json("mirror", "show", "--control", _control, "-j").EnumerateArray());
        Assert.DoesNotContain($"{TestNetwork.Address(1)} > {TestNetwork.Address(2)}", Captured(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task PortAddOfATapAndOfAPacketPortWhileTrafficFlowsElsewhereLosesNothingAndBothForward()
    {
        StartTwoHosts();
        var veth = $"{_network.Prefix}-v4";
        try
        {
            Shell.Check("ip", "link", "add", veth, "type", "veth", "peer", "name", _network.Tap(4));
            Shell.Check("ip", "link", "set", veth, "up");
            Assert.Equal(0, _network.Ping(1, 2).ExitCode);
            var pinging = Task.Run(() => Shell.Run("ip", "netns", "exec", _network.Namespace(1), "ping", "-c", "300", "-i", "0.005", "-W", "1", "-q", TestNetwork.Address(2)), TestContext.Current.CancellationToken);

            Assert.Contains($"port p3 added: tap {_network.Tap(3)}", Cli.Run("port", "add", "p3", "--interface", _network.Tap(3), "--control", _control), StringComparison.Ordinal);
            var packet = Cli.Json("port", "add", "p4", "--type", "packet", "--interface", veth, "--control", _control, "-j");
            Assert.Equal("packet", packet.GetProperty("type").GetString());
            var ping = await pinging.WaitAsync(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);

            Assert.True(ping.Output.Contains("300 packets transmitted, 300 received", StringComparison.Ordinal), $"traffic between h1 and h2 lost pings while ports were added: {ping.Output}");
            _network.AddHost(3);
            _network.AddHost(4);
            Assert.Equal(0, _network.Ping(3, 4).ExitCode);
            Assert.Equal(0, _network.Ping(1, 4).ExitCode);
        }
        finally
        {
            Shell.Run("ip", "link", "delete", "dev", veth);
        }
    }

    [Fact]
    public void APacketPortKeepsVlanSettingsSetAtRuntimeWhenItsInterfaceComesBack()
    {
        StartTwoHosts();
        var veth = $"{_network.Prefix}-v5";
        try
        {
            AddVeth(veth);
            Cli.Run("port", "add", "p5", "--type", "packet", "--interface", veth, "--control", _control);
            Waiting.Until(() => State("p5") == "up", "port p5 to attach", TimeSpan.FromSeconds(10));
            Cli.Run("port", "set", "p5", "--mode", "access", "--vlan", "20", "--control", _control);

            Shell.Check("ip", "link", "delete", "dev", veth);
            Waiting.Until(() => State("p5") == "down", "port p5 to go down with its interface", TimeSpan.FromSeconds(10));
            AddVeth(veth);
            Waiting.Until(() => State("p5") == "up", "port p5 to come back with its interface", TimeSpan.FromSeconds(10));

            var port = Cli.Json("port", "show", "--port", "p5", "--control", _control, "-j")[0];
            Assert.Equal("access", port.GetProperty("vlan_mode").GetString());
            Assert.Equal(20, port.GetProperty("vlan").GetProperty("vlan").GetInt32());
        }
        finally
        {
            Shell.Run("ip", "link", "delete", "dev", veth);
        }

        void AddVeth(string name)
        {
            Shell.Check("ip", "link", "add", name, "type", "veth", "peer", "name", $"{name}p");
            Shell.Check("ip", "link", "set", name, "up");
        }
    }

    private string? State(string port) =>
        Cli.Json("port", "show", "--port", port, "--control", _control, "-j")[0].GetProperty("state").GetString();

    /// <summary>
    /// What host 3 sees while host 1 pings host 2 and then host 3. The request to host 3 reaches it either way (as a
    /// copy while host 3's port is a mirror output, which takes copies only, and forwarded otherwise): seeing it
    /// proves the capture listened.
    /// </summary>
    private string Captured()
    {
        var file = Path.Combine(Path.GetTempPath(), $"{_network.Prefix}-h3-{Guid.NewGuid():N}.pcap");
        try
        {
            using (Tcpdump.Start(_network.Namespace(3), _network.Tap(3), file, "icmp"))
            {
                Assert.Equal(0, _network.Ping(1, 2, count: 3).ExitCode);
                _network.Ping(1, 3, count: 1);
            }

            var lines = Tcpdump.Read(file);
            Assert.Contains(lines, line => line.Contains($"{TestNetwork.Address(1)} > {TestNetwork.Address(3)}", StringComparison.Ordinal));
            return string.Join('\n', lines);
        }
        finally
        {
            File.Delete(file);
        }
    }

    private void StartTwoHosts() => StartHosts(2);

    private void StartHosts(int count, params string[] tools)
    {
        Privileged.Require(["ping", .. tools]);
        var arguments = new List<string>();
        for (var host = 1; host <= count; host++)
        {
            arguments.AddRange(["--tap", _network.Tap(host)]);
        }

        _switch = SwitchProcess.StartSwitch([.. arguments, "--name", _network.Prefix, "--control", _control]);
        for (var host = 1; host <= count; host++)
        {
            _network.AddHost(host);
        }
    }
}
