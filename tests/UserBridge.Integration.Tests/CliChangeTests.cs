namespace UserBridge.Integration.Tests;

/// <summary>
/// The CLI's changing verbs against the real switch, text and JSON: <c>stats</c>, <c>fdb add|del|flush</c> and
/// <c>port set</c>, each checked by the traffic between two namespaces behind TAP ports.
/// </summary>
public sealed class CliChangeTests : IDisposable
{
    private const string Station = "02:00:00:5e:00:99";

    private readonly SwitchLab _lab = new();

    public void Dispose() => _lab.Dispose();

    [Fact]
    public void StatsCountTheTrafficAndTheLearnedStations()
    {
        _lab.StartWithHosts(2);
        Assert.Equal(0, _lab.Network.Ping(1, 2).ExitCode);

        var stats = Cli.Json("stats", "--control", _lab.Control, "-j");
        Assert.Equal(2, stats.GetProperty("ports").GetInt32());
        Assert.True(stats.GetProperty("rx_frames").GetInt64() >= 4, $"too few frames counted: {stats}");
        Assert.True(stats.GetProperty("mac_table").GetProperty("learned").GetInt64() >= 2, $"the two hosts were not counted as learned: {stats}");
        Assert.Equal(0, stats.GetProperty("drops").GetProperty("too_short").GetInt64());

        var text = Cli.Run("stats", "--control", _lab.Control, "--port", _lab.Network.Tap(2));
        Assert.Contains($"port ", text, StringComparison.Ordinal);
        Assert.Contains(_lab.Network.Tap(2), text, StringComparison.Ordinal);
        Assert.Matches(@"(?m)^mac_entries\s+1$", text);
        Assert.Matches(@"(?m)^rx_frames\s+[1-9]", text);
    }

    [Fact]
    public void AStaticEntryPinsAStationToItsPortUntilDeletedAndFlushForgetsLearnedOnes()
    {
        _lab.StartWithHosts(2);
        Assert.Equal(0, _lab.Network.Ping(1, 2).ExitCode);

        Assert.Equal($"{Station} vlan 0 on port {_lab.Network.Tap(2)}: static entry added", Cli.Run("fdb", "add", Station, "--port", _lab.Network.Tap(2), "--control", _lab.Control));
        var fdb = Cli.Json("fdb", "show", "--control", _lab.Control, "-j").EnumerateArray().ToList();
        var pinned = Assert.Single(fdb, row => row.GetProperty("mac").GetString() == Station);
        Assert.True(pinned.GetProperty("static").GetBoolean());
        Assert.Equal(_lab.Network.Tap(2), pinned.GetProperty("port").GetString());

        var flushed = Cli.Json("fdb", "flush", "--port", _lab.Network.Tap(1), "--control", _lab.Control, "-j");
        Assert.Equal(1, flushed.GetProperty("flushed").GetInt32());
        var afterFlush = Cli.Json("fdb", "show", "--control", _lab.Control, "-j").EnumerateArray().Select(row => row.GetProperty("mac").GetString()).ToList();
        Assert.DoesNotContain(_lab.Network.MacOf(1), afterFlush);
        Assert.Contains(_lab.Network.MacOf(2), afterFlush);
        Assert.Contains(Station, afterFlush);
        Assert.Contains("learned entries removed", Cli.Run("fdb", "flush", "--control", _lab.Control), StringComparison.Ordinal);

        var deleted = Cli.Json("fdb", "del", Station, "--control", _lab.Control, "-j");
        Assert.Equal(Station, deleted.GetProperty("removed").GetString());
        Assert.DoesNotContain(Cli.Json("fdb", "show", "--control", _lab.Control, "-j").EnumerateArray(), row => row.GetProperty("mac").GetString() == Station);
    }

    [Fact]
    public void PortSetTakesAPortDownAndUpAndMovesItBetweenVlans()
    {
        _lab.StartWithHosts(2);
        Assert.Equal(0, _lab.Network.Ping(1, 2).ExitCode);

        var down = Cli.Run("port", "set", _lab.Network.Tap(2), "--down", "--control", _lab.Control);
        Assert.Matches($@"(?m)^{_lab.Network.Tap(2)}\s+tap\s+{_lab.Network.Tap(2)}\s+down\s", down);
        Assert.NotEqual(0, _lab.Network.Ping(1, 2).ExitCode);

        var up = Cli.Json("port", "set", _lab.Network.Tap(2), "--up", "--control", _lab.Control, "-j");
        Assert.Equal("up", up.GetProperty("state").GetString());
        Assert.Equal(0, _lab.Network.Ping(1, 2).ExitCode);

        var moved = Cli.Json("port", "set", _lab.Network.Tap(1), "--mode", "access", "--vlan", "20", "--control", _lab.Control, "-j");
        Assert.Equal("access", moved.GetProperty("vlan_mode").GetString());
        Assert.Equal(20, moved.GetProperty("vlan").GetProperty("vlan").GetInt32());
        Assert.NotEqual(0, _lab.Network.Ping(1, 2).ExitCode);

        Cli.Run("port", "set", _lab.Network.Tap(2), "--vlan", "20", "--control", _lab.Control);
        Assert.Equal(0, _lab.Network.Ping(1, 2).ExitCode);
        var vlans = Cli.Json("vlan", "show", "--control", _lab.Control, "-j");
        var vlan20 = Assert.Single(vlans.EnumerateArray());
        Assert.Equal(20, vlan20.GetProperty("vlan").GetInt32());
        Assert.Equal(2, vlan20.GetProperty("ports").GetArrayLength());
    }

    [Fact]
    public void MirrorAddCopiesAPortsTrafficToAnotherUntilMirrorDel()
    {
        _lab.StartWithHosts(3, "tcpdump");
        Assert.Equal(0, _lab.Network.Ping(1, 2).ExitCode);
        Assert.Equal(0, _lab.Network.Ping(1, 3).ExitCode);

        var added = Cli.Run("mirror", "add", "--source", _lab.Network.Tap(1), "--output", _lab.Network.Tap(3), "--direction", "in", "--control", _lab.Control);
        Assert.Matches($@"(?m)^{_lab.Network.Tap(1)}\s+in\s+{_lab.Network.Tap(3)}\s+-\s*$", added);
        var shown = Assert.Single(Cli.Json("mirror", "show", "--control", _lab.Control, "-j").EnumerateArray());
        Assert.Equal(_lab.Network.Tap(3), shown.GetProperty("output").GetString());
        Assert.Contains($"{TestNetwork.Address(1)} > {TestNetwork.Address(2)}", Captured(), StringComparison.Ordinal);

        Assert.Equal($"mirror to {_lab.Network.Tap(3)} removed", Cli.Run("mirror", "del", _lab.Network.Tap(3), "--control", _lab.Control));
        Assert.Empty(Cli.Json("mirror", "show", "--control", _lab.Control, "-j").EnumerateArray());
        Assert.DoesNotContain($"{TestNetwork.Address(1)} > {TestNetwork.Address(2)}", Captured(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task PortAddOfATapAndOfAPacketPortWhileTrafficFlowsElsewhereLosesNothingAndBothForward()
    {
        _lab.StartWithHosts(2);
        var veth = $"{_lab.Network.Prefix}-v4";
        try
        {
            Shell.Check("ip", "link", "add", veth, "type", "veth", "peer", "name", _lab.Network.Tap(4));
            Shell.Check("ip", "link", "set", veth, "up");
            Assert.Equal(0, _lab.Network.Ping(1, 2).ExitCode);
            var pinging = Task.Run(() => Shell.Run("ip", "netns", "exec", _lab.Network.Namespace(1), "ping", "-c", "300", "-i", "0.005", "-W", "1", "-q", TestNetwork.Address(2)), TestContext.Current.CancellationToken);

            Assert.Contains($"port p3 added: tap {_lab.Network.Tap(3)}", Cli.Run("port", "add", "p3", "--interface", _lab.Network.Tap(3), "--control", _lab.Control), StringComparison.Ordinal);
            var packet = Cli.Json("port", "add", "p4", "--type", "packet", "--interface", veth, "--control", _lab.Control, "-j");
            Assert.Equal("packet", packet.GetProperty("type").GetString());
            var ping = await pinging.WaitAsync(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);

            Assert.True(ping.Output.Contains("300 packets transmitted, 300 received", StringComparison.Ordinal), $"traffic between h1 and h2 lost pings while ports were added: {ping.Output}");
            _lab.Network.AddHost(3);
            _lab.Network.AddHost(4);
            Assert.Equal(0, _lab.Network.Ping(3, 4).ExitCode);
            Assert.Equal(0, _lab.Network.Ping(1, 4).ExitCode);
        }
        finally
        {
            Shell.Run("ip", "link", "delete", "dev", veth);
        }
    }

    [Fact]
    public void APacketPortKeepsVlanSettingsSetAtRuntimeWhenItsInterfaceComesBack()
    {
        _lab.StartWithHosts(2);
        var veth = $"{_lab.Network.Prefix}-v5";
        try
        {
            AddVeth(veth);
            Cli.Run("port", "add", "p5", "--type", "packet", "--interface", veth, "--control", _lab.Control);
            Waiting.Until(() => State("p5") == "up", "port p5 to attach", TimeSpan.FromSeconds(10));
            Cli.Run("port", "set", "p5", "--mode", "access", "--vlan", "20", "--control", _lab.Control);

            Shell.Check("ip", "link", "delete", "dev", veth);
            Waiting.Until(() => State("p5") == "down", "port p5 to go down with its interface", TimeSpan.FromSeconds(10));
            AddVeth(veth);
            Waiting.Until(() => State("p5") == "up", "port p5 to come back with its interface", TimeSpan.FromSeconds(10));

            var port = Cli.Json("port", "show", "--port", "p5", "--control", _lab.Control, "-j")[0];
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
        Cli.Json("port", "show", "--port", port, "--control", _lab.Control, "-j")[0].GetProperty("state").GetString();

    /// <summary>
    /// What host 3 sees while host 1 pings host 2 and then host 3. The request to host 3 reaches it either way (as a
    /// copy while host 3's port is a mirror output, which takes copies only, and forwarded otherwise): seeing it
    /// proves the capture listened.
    /// </summary>
    private string Captured()
    {
        var file = Path.Combine(Path.GetTempPath(), $"{_lab.Network.Prefix}-h3-{Guid.NewGuid():N}.pcap");
        try
        {
            using (Tcpdump.Start(_lab.Network.Namespace(3), _lab.Network.Tap(3), file, "icmp"))
            {
                Assert.Equal(0, _lab.Network.Ping(1, 2, count: 3).ExitCode);
                _lab.Network.Ping(1, 3, count: 1);
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
}
