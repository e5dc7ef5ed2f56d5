using System.Globalization;
using System.Text.RegularExpressions;
using UserBridge.Linux.Host;
using UserBridge.Linux.Interop;
using UserBridge.Linux.Ports;

namespace UserBridge.Control.Config;

/// <summary>Parsing and validation of single values, shared by the config file and the command-line flags.</summary>
public static partial class ConfigValues
{
    public const string NameHelp = PortSettingsReader.NameHelp;
    public const string InterfaceHelp = PortSettingsReader.InterfaceHelp;

    /// <summary>The wording of every duration error: the range first, then how to write one.</summary>
    public static readonly string DurationHelp = $"a duration from {Limits.MinDurationSeconds}s to {Limits.MaxDurationSeconds}s (about 11.6 days), such as \"300s\", \"5m\", \"1h\" or \"1500ms\"";

    /// <summary>
    /// Parses "1500ms", "300s", "300", "5m" or "1h"; false for anything else and for a duration outside
    /// <see cref="Limits.MinDurationSeconds"/> to <see cref="Limits.MaxDurationSeconds"/>. The amount has at most 9 digits and is
    /// counted in milliseconds as a <see cref="long"/> (at most 3.6e15), so the check comes before any
    /// <see cref="TimeSpan"/> is made: "999999999h" is refused, not an overflow.
    /// </summary>
    public static bool TryParseDuration(string text, out TimeSpan duration)
    {
        ArgumentNullException.ThrowIfNull(text);
        duration = default;
        var match = DurationPattern().Match(text.Trim());
        if (!match.Success || !long.TryParse(match.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var amount))
        {
            return false;
        }

        var milliseconds = amount * match.Groups[2].Value switch
        {
            "ms" => 1L,
            "" or "s" => 1_000L,
            "m" => 60_000L,
            _ => 3_600_000L,
        };
        if (milliseconds < Limits.MinDurationSeconds * 1000 || milliseconds > Limits.MaxDurationSeconds * 1000)
        {
            return false;
        }

        duration = TimeSpan.FromMilliseconds(milliseconds);
        return true;
    }

    public const string CpusHelp = "a list of CPU numbers such as \"0\", \"1,3\" or \"0-3\"";

    /// <summary>Parses a CPU list ("0", "1,3", "0-3") of CPUs this machine has; false for anything else.</summary>
    public static bool TryParseCpus(string text, out IReadOnlyList<int> cpus)
    {
        var list = new SortedSet<int>();
        cpus = [];
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries))
        {
            var bounds = part.Split('-');
            if (bounds.Length is < 1 or > 2
                || !int.TryParse(bounds[0], NumberStyles.None, CultureInfo.InvariantCulture, out var first)
                || !int.TryParse(bounds[^1], NumberStyles.None, CultureInfo.InvariantCulture, out var last)
                || first > last || last >= Math.Min(Environment.ProcessorCount, CpuAffinity.MaxCpus))
            {
                return false;
            }

            for (var cpu = first; cpu <= last; cpu++)
            {
                list.Add(cpu);
            }
        }

        cpus = [.. list];
        return list.Count > 0;
    }

    public static bool IsValidName(string name) => PortSettingsReader.IsValidName(name);

    /// <summary>A user or group name as useradd accepts it: a letter or '_' first, then letters, digits, '_', '-' (and a final '$').</summary>
    public static bool IsValidAccountName(string name) => AccountPattern().IsMatch(name);

    public static bool IsValidInterfaceName(string name) => NetDevice.IsValidName(name);

    [GeneratedRegex("^([0-9]{1,9})(ms|s|m|h|)$")]
    private static partial Regex DurationPattern();

    [GeneratedRegex("^[a-z_][a-z0-9_-]{0,30}[$]?$")]
    private static partial Regex AccountPattern();
}
