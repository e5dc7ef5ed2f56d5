using System.Globalization;
using System.Text.RegularExpressions;

namespace UserBridge.Control;

/// <summary>Parsing and validation of single values, shared by the config file and the command-line flags.</summary>
public static partial class ConfigValues
{
    public const string DurationHelp = "a duration such as \"300s\", \"5m\", \"1h\" or \"1500ms\" (at least 1s)";
    public const string NameHelp = "1 to 32 letters, digits, '.', '_' or '-'";
    public const string InterfaceHelp = "an interface name of 1 to 15 characters without '/', ':' or spaces";

    public static bool TryParseDuration(string text, out TimeSpan duration)
    {
        duration = default;
        var match = DurationPattern().Match(text.Trim());
        if (!match.Success || !long.TryParse(match.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var amount))
        {
            return false;
        }

        duration = match.Groups[2].Value switch
        {
            "ms" => TimeSpan.FromMilliseconds(amount),
            "" or "s" => TimeSpan.FromSeconds(amount),
            "m" => TimeSpan.FromMinutes(amount),
            "h" => TimeSpan.FromHours(amount),
            _ => TimeSpan.Zero,
        };
        return duration >= TimeSpan.FromSeconds(1);
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
                || first > last || last >= Math.Min(Environment.ProcessorCount, UserBridge.Linux.CpuAffinity.MaxCpus))
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

    public static bool IsValidName(string name) => NamePattern().IsMatch(name);

    /// <summary>A user or group name as useradd accepts it: a letter or '_' first, then letters, digits, '_', '-' (and a final '$').</summary>
    public static bool IsValidAccountName(string name) => AccountPattern().IsMatch(name);

    public static bool IsValidInterfaceName(string name) =>
        name.Length is > 0 and < 16 && name is not "." and not ".." && !name.Any(c => c is '/' or ':' || c <= ' ' || c > '~');

    [GeneratedRegex("^([0-9]{1,9})(ms|s|m|h|)$")]
    private static partial Regex DurationPattern();

    [GeneratedRegex("^[A-Za-z0-9._-]{1,32}$")]
    private static partial Regex NamePattern();

    [GeneratedRegex("^[a-z_][a-z0-9_-]{0,30}[$]?$")]
    private static partial Regex AccountPattern();
}
