using System.Text.Json.Nodes;
using UserBridge.Control.Config;
using UserBridge.Control.Management;
using UserBridge.Control.Runtime;
using UserBridge.Core.Ports;
using UserBridge.Core.Switching;

namespace UserBridge.Control.Tests;

/// <summary>
/// Every number and duration of the config file and of a capture request has a documented range: its largest value is
/// taken, one past it is refused with the file, the line and the range (never an exception of another kind), and a
/// float where an integer is wanted or a bare value where a string is wanted is refused too.
/// </summary>
public sealed class ConfigLimitsTests
{
    private const string File = "switch.toml";
    private const string Tap = "[[port]]\ninterface = \"t1\"\n";
    private const string Trunk = "[[port]]\ninterface = \"t1\"\nmode = \"trunk\"\n";
    private const string Vxlan = "[[port]]\ntype = \"vxlan\"\nremotes = [\"198.18.0.2\"]\n";
    private const string Vni = "[[port]]\ntype = \"vxlan\"\nvni = 1\nremotes = [\"198.18.0.2\"]\n";
    private const string Capture = "[[port]]\nname = \"p1\"\ninterface = \"t1\"\n[capture]\nfile = \"/var/tmp/ub.pcapng\"\n";
    private const string Multi = "[[port]]\ntype = \"qemu-stream\"\npath = \"/run/vms.sock\"\nmulti = true\n";
    private const string Mirror = "[[port]]\nname = \"p1\"\ninterface = \"t1\"\n[[port]]\nname = \"p2\"\ninterface = \"t2\"\n[[mirror]]\nsource = \"p1\"\noutput = \"p2\"\n";

    /// <summary>The key on the last line of PREFIX + "KEY = VALUE": its largest value and the one past it.</summary>
    public static TheoryData<string, string, string, string> Maxima => new()
    {
        { string.Empty, "aging", "\"1000000s\"", "aging must be a duration from 1s to 1000000s" },
        { string.Empty, "aging", "1000000", "aging must be a duration from 1s to 1000000s" },
        { string.Empty, "mac_table_size", "67108864", "mac_table_size must be an integer from 1 to 67108864" },
        { string.Empty, "pollers", "64", "pollers must be an integer from 0 to 64" },
        { Tap, "queues", "16", "queues must be an integer from 1 to 16" },
        { Tap, "max_macs", "67108864", "max_macs must be an integer from 1 to 67108864" },
        { Multi, "max_connections", "4096", "max_connections must be an integer from 1 to 4096" },
        { Tap, "mtu", "65535", "mtu must be an integer from 68 to 65535" },
        { Tap, "vlan", "4094", "vlan must be a VLAN ID from 1 to 4094" },
        { Trunk, "native", "4094", "native must be a VLAN ID from 1 to 4094" },
        { Vxlan, "vni", "16777215", "vni must be an integer from 0 to 16777215" },
        { Vni, "dstport", "65535", "dstport must be an integer from 1 to 65535" },
        { Vni, "ttl", "255", "ttl must be an integer from 1 to 255" },
        { Vni, "tos", "255", "tos must be an integer from 0 to 255" },
        { Vni, "mtu", "65535", "mtu must be an integer from 118 to 65535" },
        { Capture, "snaplen", "262144", "snaplen must be an integer from 64 to 262144" },
        { Capture, "rotate_bytes", "1099511627776", "rotate_bytes must be an integer from 1024 to 1099511627776" },
        { Capture + "rotate_bytes = 1024\n", "keep_files", "100000", "keep_files must be an integer from 1 to 100000" },
        { Mirror, "vlan", "4094", "vlan must be an integer from 1 to 4094" },
    };

    /// <summary>The same keys at their smallest value and the one below it.</summary>
    public static TheoryData<string, string, string, string> Minima => new()
    {
        { string.Empty, "aging", "\"1s\"", "aging must be a duration from 1s to 1000000s" },
        { string.Empty, "mac_table_size", "1", "mac_table_size must be an integer from 1 to 67108864" },
        { string.Empty, "pollers", "0", "pollers must be an integer from 0 to 64" },
        { Tap, "queues", "1", "queues must be an integer from 1 to 16" },
        { Tap, "max_macs", "1", "max_macs must be an integer from 1 to 67108864" },
        { Multi, "max_connections", "1", "max_connections must be an integer from 1 to 4096" },
        { Tap, "mtu", "68", "mtu must be an integer from 68 to 65535" },
        { Tap, "vlan", "1", "vlan must be a VLAN ID from 1 to 4094" },
        { Vxlan, "vni", "0", "vni must be an integer from 0 to 16777215" },
        { Vni, "dstport", "1", "dstport must be an integer from 1 to 65535" },
        { Vni, "ttl", "1", "ttl must be an integer from 1 to 255" },
        { Vni, "tos", "0", "tos must be an integer from 0 to 255" },
        { Vni, "mtu", "118", "mtu must be an integer from 118 to 65535" },
        { Capture, "snaplen", "64", "snaplen must be an integer from 64 to 262144" },
        { Capture, "rotate_bytes", "1024", "rotate_bytes must be an integer from 1024 to 1099511627776" },
        { Capture + "rotate_bytes = 1024\n", "keep_files", "1", "keep_files must be an integer from 1 to 100000" },
        { Mirror, "vlan", "1", "vlan must be an integer from 1 to 4094" },
    };

    [Theory]
    [MemberData(nameof(Maxima))]
    public void EveryNumberIsTakenAtItsMaximumAndRefusedOnePastItWithTheLineAndTheRange(string prefix, string key, string maximum, string expected)
    {
        ConfigLoader.Parse($"{prefix}{key} = {maximum}", File);

        AssertRefused($"{prefix}{key} = {Beyond(maximum, +1)}", expected);
    }

    [Theory]
    [MemberData(nameof(Minima))]
    public void EveryNumberIsTakenAtItsMinimumAndRefusedOneBelowIt(string prefix, string key, string minimum, string expected)
    {
        ConfigLoader.Parse($"{prefix}{key} = {minimum}", File);

        AssertRefused($"{prefix}{key} = {Beyond(minimum, -1)}", expected);
    }

    [Theory]
    [InlineData("storm = { broadcast_pps = 100000000 }", "storm = { broadcast_pps = 100000001 }", "broadcast_pps must be an integer from 1 to 100000000")]
    [InlineData("storm = { multicast_pps = 100000000 }", "storm = { multicast_pps = 100000001 }", "multicast_pps must be an integer from 1 to 100000000")]
    [InlineData("storm = { unknown_unicast_pps = 100000000 }", "storm = { unknown_unicast_pps = 100000001 }", "unknown_unicast_pps must be an integer from 1 to 100000000")]
    public void StormLimitsAreTakenAtTheirMaximumAndRefusedOnePastIt(string maximum, string past, string expected)
    {
        ConfigLoader.Parse(Tap + maximum, File);

        AssertRefused(Tap + past, expected);
    }

    [Theory]
    [InlineData("\"256204779h\"")]
    [InlineData("\"999999999h\"")]
    [InlineData("\"999999999m\"")]
    [InlineData("\"999999999s\"")]
    [InlineData("\"1000001s\"")]
    [InlineData("\"16667m\"")]
    [InlineData("\"278h\"")]
    [InlineData("9223372036854775807")]
    [InlineData("2147483647")]
    [InlineData("\"999ms\"")]
    [InlineData("0")]
    [InlineData("-1")]
    [InlineData("1e999")]
    public void AnAgingTimeOutsideItsRangeIsRefusedWithTheLineAndTheRangeWhateverItsUnit(string value) =>
        AssertRefused($"name = \"x\"\naging = {value}", "switch.toml:2: aging must be a duration from 1s to 1000000s");

    [Theory]
    [InlineData("\"999999999ms\"", 999_999_999L)]
    [InlineData("\"16666m\"", 999_960_000L)]
    [InlineData("\"277h\"", 997_200_000L)]
    public void AnAgingTimeUpToTheMaximumIsTakenInAnyUnit(string value, long milliseconds) =>
        Assert.Equal(milliseconds, (long)ConfigLoader.Parse($"aging = {value}", File).Aging.TotalMilliseconds);

    [Theory]
    [InlineData("", "mac_table_size")]
    [InlineData("", "pollers")]
    [InlineData(Tap, "mtu")]
    [InlineData(Tap, "queues")]
    [InlineData(Tap, "max_macs")]
    [InlineData(Vni, "ttl")]
    [InlineData(Vni, "dstport")]
    [InlineData(Capture, "snaplen")]
    [InlineData(Capture, "rotate_bytes")]
    public void AFloatWhereAnIntegerIsWantedIsRefusedSayingSo(string prefix, string key)
    {
        foreach (var value in new[] { "1e999", "1500.0", "-inf", "nan" })
        {
            AssertRefused($"{prefix}{key} = {value}", $"{key} must be an integer from", "without a decimal point or exponent");
        }
    }

    [Theory]
    [InlineData("[[port]]\ntype = \"qemu-stream\"\npath = \"/run/vm.sock\"\n", "group")]
    [InlineData("[[port]]\ntype = \"qemu-dgram\"\npath = \"/run/vm.sock\"\n", "remote")]
    [InlineData("[[port]]\ntype = \"qemu-stream\"\npath = \"/run/vm.sock\"\n", "role")]
    [InlineData(Tap, "name")]
    [InlineData(Tap, "on_limit")]
    [InlineData("[[port]]\n", "interface")]
    [InlineData("[[port]]\ntype = \"qemu-dgram\"\n", "path")]
    [InlineData(Vni, "netns")]
    [InlineData(Vni, "local")]
    [InlineData("[[port]]\n", "type")]
    public void ABareValueWhereAStringIsWantedIsRefused(string prefix, string key)
    {
        foreach (var value in new[] { "1e999", "1.5", "1979-05-27", "inf", "12" })
        {
            AssertRefused($"{prefix}{key} = {value}", $"{key} must be a string in double quotes");
        }
    }

    [Fact]
    public void RemotesMustBeStringsInDoubleQuotes() =>
        AssertRefused("[[port]]\ntype = \"vxlan\"\nvni = 1\nremotes = [1.2]", "remotes");

    [Theory]
    [InlineData("snaplen", 64, 262_144)]
    [InlineData("count", 1, long.MaxValue)]
    [InlineData("duration_s", 1, 1_000_000)]
    public void ACaptureRequestsNumbersHaveTheSameRangesAsTheConfig(string key, long minimum, long maximum)
    {
        CaptureRequest.Options(new JsonObject { [key] = maximum });
        CaptureRequest.Options(new JsonObject { [key] = minimum });

        Assert.Equal($"{key} must be an integer from {minimum} to {maximum}", Assert.Throws<ManagementException>(() => CaptureRequest.Options(new JsonObject { [key] = minimum - 1 })).Message);
        if (maximum < long.MaxValue)
        {
            Assert.Equal($"{key} must be an integer from {minimum} to {maximum}", Assert.Throws<ManagementException>(() => CaptureRequest.Options(new JsonObject { [key] = maximum + 1 })).Message);
        }

        Assert.StartsWith($"{key} must be an integer from {minimum} to {maximum}", Assert.Throws<ManagementException>(() => CaptureRequest.Options((JsonObject)JsonNode.Parse($"{{\"{key}\":1e999}}")!)).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("rotate_bytes", 1024, 1L << 40)]
    [InlineData("keep_files", 1, 100_000)]
    public void ACaptureFilesRotationHasTheSameRangesAsTheConfig(string key, long minimum, long maximum)
    {
        CaptureRequest.FileOutput(new JsonObject { ["file"] = "/var/tmp/ub.pcapng", [key] = maximum }).Dispose();
        CaptureRequest.FileOutput(new JsonObject { ["file"] = "/var/tmp/ub.pcapng", [key] = minimum }).Dispose();

        Assert.Equal($"{key} must be an integer from {minimum} to {maximum}", Assert.Throws<ManagementException>(() => CaptureRequest.FileOutput(new JsonObject { ["file"] = "/var/tmp/ub.pcapng", [key] = maximum + 1 })).Message);
        Assert.Equal($"{key} must be an integer from {minimum} to {maximum}", Assert.Throws<ManagementException>(() => CaptureRequest.FileOutput(new JsonObject { ["file"] = "/var/tmp/ub.pcapng", [key] = minimum - 1 })).Message);
    }

    [Theory]
    [InlineData("{\"name\":\"g\",\"type\":\"qemu-dgram\",\"path\":\"/var/tmp/ub-limits-g.sock\",\"group\":1e999}", "port add: group must be a string in double quotes")]
    [InlineData("{\"name\":\"g\",\"type\":\"qemu-dgram\",\"path\":\"/var/tmp/ub-limits-g.sock\",\"group\":null}", "port add: group must be a string in double quotes")]
    [InlineData("{\"name\":\"m\",\"type\":\"qemu-dgram\",\"path\":\"/var/tmp/ub-limits-m.sock\",\"mtu\":1500.0}", "port add: mtu must be an integer from 68 to 65535, written without a decimal point or exponent")]
    [InlineData("{\"name\":\"m\",\"type\":\"qemu-dgram\",\"path\":\"/var/tmp/ub-limits-m.sock\",\"max_macs\":1e999}", "port add: max_macs must be an integer from 1 to 67108864, written without a decimal point or exponent")]
    [InlineData("{\"name\":\"s\",\"type\":\"qemu-dgram\",\"path\":\"/var/tmp/ub-limits-s.sock\",\"storm\":5}", "port add: storm must be an inline table")]
    [InlineData("{\"name\":\"v\",\"type\":\"vxlan\",\"vni\":1,\"remotes\":[1.2]}", "port add: remotes must be addresses in double quotes")]
    public void APortAddRequestTakesTheSameTypesAndRangesAndOpensNothingWhenOneIsWrong(string args, string expected)
    {
        using var bridge = new Bridge(new BridgeOptions());
        using var ports = new RunningSwitch(bridge, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, _ => { });

        var reply = JsonNode.Parse(ManagementProtocol.Handle(ports, $"{{\"verb\":\"port add\",\"args\":{args}}}"))!;

        Assert.False((bool?)reply["ok"], reply.ToJsonString());
        Assert.StartsWith(expected, (string?)reply["error"], StringComparison.Ordinal);
        Assert.Empty(bridge.Snapshot.Ports.OfType<PortSlot>());
    }

    private static void AssertRefused(string toml, params string[] expected)
    {
        var line = toml.Split('\n').Length;
        var error = Assert.Throws<ConfigException>(() => ConfigLoader.Parse(toml, File));
        Assert.Contains(error.Errors, message => message.StartsWith(expected[0].StartsWith(File, StringComparison.Ordinal) ? expected[0] : $"{File}:{line}: {expected[0]}", StringComparison.Ordinal)
            && expected.Skip(1).All(part => message.Contains(part, StringComparison.Ordinal)));
    }

    /// <summary>The literal <paramref name="value"/> (an integer, or a duration string in seconds) moved by <paramref name="step"/>.</summary>
    private static string Beyond(string value, int step) => value switch
    {
        ['"', .. var text, 's', '"'] when long.TryParse(text, out var seconds) && seconds + step >= 1 => $"\"{seconds + step}s\"",
        ['"', .. var text, 's', '"'] when long.TryParse(text, out _) => "\"999ms\"",
        _ => (long.Parse(value, System.Globalization.CultureInfo.InvariantCulture) + step).ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}
