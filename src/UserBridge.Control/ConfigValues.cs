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

    public static bool IsValidName(string name) => NamePattern().IsMatch(name);

    public static bool IsValidInterfaceName(string name) =>
        name.Length is > 0 and < 16 && name is not "." and not ".." && !name.Any(c => c is '/' or ':' || c <= ' ' || c > '~');

    [GeneratedRegex("^([0-9]{1,9})(ms|s|m|h|)$")]
    private static partial Regex DurationPattern();

    [GeneratedRegex("^[A-Za-z0-9._-]{1,32}$")]
    private static partial Regex NamePattern();
}
