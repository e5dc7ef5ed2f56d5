using System.Globalization;
using System.Text.Json.Nodes;
using System.Text;
using CsCheck;
using UserBridge.Control.Config;
using UserBridge.Control.Management;
using UserBridge.Linux.Ports;
using UserBridge.Tests.Shared;

namespace UserBridge.Control.Tests;

/// <summary>
/// Fuzzing of what a config file and a request can put in a number or a duration: documents of random keys of every
/// table with numeric extremes (0, -1, 2^31, 2^63-1, 1e999, "999999999h", huge durations...), port settings as a
/// <c>port add</c> request gives them, and capture requests. Each input either parses or is refused with a
/// <see cref="ConfigException"/> (<see cref="ManagementException"/> for a request); any other exception fails the test.
/// </summary>
public sealed class ConfigFuzzTests
{
    private static readonly string[] SwitchKeys = ["name", "aging", "mac_table_size", "control", "vlan_filtering", "forward_link_local", "cpus", "pollers", "metrics", "user", "group", "runtime_changes"];

    private static readonly string[] PortKeys =
    [
        "name", "type", "interface", "offload", "queues", "mode", "vlan", "allowed", "native", "tpid", "bpdu_guard", "max_macs", "on_limit", "storm", "mtu",
        "path", "role", "multi", "remote", "group", "vni", "vni_map", "local", "remotes", "dstport", "ttl", "tos", "netns",
    ];

    private static readonly string[] CaptureKeys = ["file", "ports", "direction", "filter", "snaplen", "include_drops", "rotate_bytes", "keep_files"];

    private static readonly string[] MirrorKeys = ["source", "direction", "output", "vlan"];

    private static readonly string[] PortTypes = ["\"tap\"", "\"packet\"", "\"qemu-stream\"", "\"qemu-dgram\"", "\"vxlan\"", "\"geneve\"", "\"gre\"", "1e999"];

    private static readonly string[] Extremes =
    [
        "0", "-1", "1", "64", "4094", "4095", "65535", "65536", "16777215", "16777216", "2147483647", "2147483648", "-2147483649", "4294967296",
        "9223372036854775807", "-9223372036854775808", "0x7fffffffffffffff", "0o777", "0b1", "1e999", "-1e999", "1e-999", "1.5", "0.0", "-0.0",
        "inf", "-inf", "nan", "\"999999999h\"", "\"256204779h\"", "\"1000000s\"", "\"1000001s\"", "\"0s\"", "\"999999999ms\"", "\"2147484\"",
        "\"9223372036854775807\"", "\"1e999\"", "\"-1\"", "\"\"", "\"0x88a8\"", "\"0660\"", "\"trunk\"", "\"1-4094\"", "\"0-4294967296\"",
        "\"4095:16777216\"", "\"10:1010\"", "\"198.18.0.2\"", "\"239.1.1.1\"", "\"/run/vm.sock\"", "true", "[1e999]", "[\"198.18.0.2\", 2]", "[]",
        "{ broadcast_pps = 9223372036854775807 }", "{ multicast_pps = 1e999 }", "{ unknown_unicast_pps = -1 }", "1979-05-27T07:32:00Z", "07:32:00",
    ];

    private static readonly Gen<string> ValueGen = Gen.Frequency(
        (8, Gen.OneOf(Extremes)),
        (2, Gen.Long.Select(static number => number.ToString(CultureInfo.InvariantCulture))),
        (1, Gen.Double.Select(static number => double.IsFinite(number) ? number.ToString("R", CultureInfo.InvariantCulture) + (double.IsInteger(number) ? ".0" : string.Empty) : "nan")),
        (1, Gen.Select(Gen.Long[0, 999_999_999], Gen.OneOf("ms", "s", "m", "h", string.Empty)).Select(static (amount, unit) => $"\"{amount}{unit}\"")));

    private static readonly Gen<string> LineGen = Gen.Select(Gen.OneOf(SwitchKeys.Concat(PortKeys).Concat(CaptureKeys).Concat(MirrorKeys).ToArray()), ValueGen)
        .Select(static (key, value) => $"{key} = {value}");

    private static readonly Gen<string> TableGen = Gen.Frequency(
        (4, Gen.Select(Gen.OneOf(PortTypes), Gen.Select(Gen.OneOf(PortKeys), ValueGen).Array[0, 6])
            .Select(static (type, settings) => $"[[port]]\ntype = {type}\n{Lines(settings)}")),
        (1, Gen.Select(Gen.OneOf(CaptureKeys), ValueGen).Array[0, 5].Select(static settings => $"[capture]\n{Lines(settings)}")),
        (1, Gen.Select(Gen.OneOf(MirrorKeys), ValueGen).Array[0, 4].Select(static settings => $"[[mirror]]\n{Lines(settings)}")));

    private static readonly Gen<string> DocumentGen = Gen.Select(LineGen.Array[0, 4], TableGen.Array[0, 3])
        .Select(static (lines, tables) => string.Join('\n', lines) + "\n" + string.Join('\n', tables));

    private static readonly Gen<object> SettingValueGen = Gen.Frequency(
        (3, Gen.OneOf<object>(0L, -1L, 1L, 4095L, 65536L, 2147483648L, long.MaxValue, long.MinValue, double.PositiveInfinity, double.NaN, 1.5, -0.0, "1e999", "999999999h", string.Empty, true)),
        (2, Gen.Long.Select(static number => (object)number)),
        (1, Gen.Double.Select(static number => (object)number)),
        (1, Gen.String[0, 12].Select(static text => (object)text)),
        (1, Gen.OneOf<object>(new object[] { "198.18.0.2", double.PositiveInfinity }, Array.Empty<object>(), new object[] { 2L })));

    private static readonly Gen<PortSetting[]> SettingsGen = Gen.Select(
        Gen.OneOf<object>("tap", "packet", "qemu-stream", "qemu-dgram", "vxlan", "geneve", double.PositiveInfinity, 5L),
        Gen.Select(Gen.OneOf(PortKeys), SettingValueGen).Array[0, 8])
        .Select(static (type, settings) => settings.Select(static pair => new PortSetting(pair.Item1, pair.Item2, 0)).Prepend(new PortSetting("type", type, 0)).ToArray());

    private static readonly Gen<string> CaptureArgsGen = Gen.Select(Gen.OneOf("snaplen", "count", "duration_s", "rotate_bytes", "keep_files", "include_drops"), Gen.Frequency(
            (4, Gen.OneOf("0", "-1", "1", "2147483647", "2147483648", "9223372036854775807", "9223372036854775808", "1e999", "-1e999", "1.5", "1E2", "null", "\"5\"", "true", "[]", "{}")),
            (1, Gen.Long.Select(static number => number.ToString(CultureInfo.InvariantCulture)))))
        .Array[0, 5]
        .Select(static pairs => "{\"file\":\"/var/tmp/ub-fuzz.pcapng\"" + string.Concat(pairs.DistinctBy(static pair => pair.Item1).Select(static pair => $",\"{pair.Item1}\":{pair.Item2}")) + "}");

    [Fact]
    public void EveryDocumentParsesOrIsRefusedWithAConfigException()
    {
        var (iterations, seconds) = FuzzBudget.Current;
        DocumentGen.Sample(
            static document =>
            {
                try
                {
                    ConfigLoader.Parse(document, "fuzz.toml");
                }
                catch (ConfigException ex) when (ex.Errors.Count > 0 && ex.Errors.All(error => error.StartsWith("fuzz.toml", StringComparison.Ordinal)))
                {
                    // Refused, with every error naming the file (and the line).
                }
            },
            writeLine: FuzzBudget.Report,
            iter: iterations,
            time: seconds,
            threads: 1);
    }

    [Fact]
    public void EveryDurationTextParsesOrNotWithoutThrowing()
    {
        var (iterations, seconds) = FuzzBudget.Current;
        Gen.Select(Gen.String[0, 14], Gen.Long[0, 9_999_999_999], Gen.OneOf("ms", "s", "m", "h", "d", string.Empty)).Sample(
            static (text, amount, unit) =>
            {
                foreach (var candidate in new[] { text, $"{amount}{unit}", $"{text}{unit}" })
                {
                    if (ConfigValues.TryParseDuration(candidate, out var duration) && (duration < TimeSpan.FromSeconds(Limits.MinDurationSeconds) || duration > TimeSpan.FromSeconds(Limits.MaxDurationSeconds)))
                    {
                        throw new InvalidOperationException($"\"{candidate}\" gave {duration}, outside 1s to 1000000s");
                    }
                }
            },
            writeLine: FuzzBudget.Report,
            iter: iterations,
            time: seconds,
            threads: 1);
    }

    [Fact]
    public void EveryPortRequestBuildsOrGivesErrors()
    {
        var (iterations, seconds) = FuzzBudget.Current;
        SettingsGen.Sample(
            static settings =>
            {
                var errors = new List<string>();
                if (PortRules.Build(settings, 0, static _ => "port add", errors) is null == (errors.Count == 0))
                {
                    throw new InvalidOperationException($"a port and errors, or neither: {string.Join("; ", errors)}");
                }
            },
            writeLine: FuzzBudget.Report,
            iter: iterations,
            time: seconds,
            threads: 1);
    }

    [Fact]
    public void EveryCaptureRequestGivesOptionsOrAManagementException()
    {
        var (iterations, seconds) = FuzzBudget.Current;
        CaptureArgsGen.Sample(
            static json =>
            {
                var args = (JsonObject)JsonNode.Parse(json)!;
                try
                {
                    CaptureRequest.Options(args);
                    CaptureRequest.FileOutput(args).Dispose();
                }
                catch (ManagementException)
                {
                    // Refused with the key and its range.
                }
            },
            writeLine: FuzzBudget.Report,
            iter: iterations,
            time: seconds,
            threads: 1);
    }

    private static string Lines((string Key, string Value)[] settings)
    {
        var text = new StringBuilder();
        foreach (var (key, value) in settings.DistinctBy(static setting => setting.Key))
        {
            text.Append(key).Append(" = ").Append(value).Append('\n');
        }

        return text.ToString();
    }
}
