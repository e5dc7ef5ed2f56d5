using System.Globalization;
using UserBridge.Linux.Files;
using UserBridge.Linux.Interop;

namespace UserBridge.Linux.Ports;

/// <summary>
/// A port's settings as its type reads them: each value checked and each error added with the line it is on and the
/// fix, the same words for every type and for the config file and <c>port add</c> alike.
/// </summary>
public sealed class PortSettingsReader(string type, IReadOnlyDictionary<string, PortSetting> values, int line, Func<int, string> where, List<string> errors, Func<string, bool> isVlanMode)
{
    /// <summary>What an error adds when a float stood where an integer was wanted.</summary>
    public const string NotAFloat = ", written without a decimal point or exponent";

    /// <summary>The words of a bad interface name's fix.</summary>
    public const string InterfaceHelp = "an interface name of 1 to 15 characters without '/', ':' or spaces";

    /// <summary>The words of a bad name's fix: port, switch and namespace names follow one rule.</summary>
    public const string NameHelp = "1 to 32 letters, digits, '.', '_' or '-'";

    /// <summary>The port's type, as its <c>type</c> key (or the default) says.</summary>
    public string Type { get; } = type;

    /// <summary>The line of the port's table (0 for a request).</summary>
    public int Line { get; } = line;

    /// <summary>How many errors there are so far, to tell whether a step added any.</summary>
    public int ErrorCount => errors.Count;

    /// <summary>"an integer from MIN to MAX", the wording of every integer range in errors.</summary>
    public static string IntegerRange(long min, long max) => $"an integer from {min} to {max}";

    /// <summary>Whether <paramref name="name"/> is a valid port, switch or namespace name (<see cref="NameHelp"/>).</summary>
    public static bool IsValidName(string name) =>
        name.Length is > 0 and <= 32 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-');

    public bool Has(string key) => values.ContainsKey(key);

    /// <summary>The setting itself, when there is one.</summary>
    public PortSetting? Raw(string key) => values.TryGetValue(key, out var setting) ? setting : null;

    /// <summary>Where <paramref name="key"/> is (its line), or where the port's table is when it has none.</summary>
    public string Where(string? key = null) => where(key is not null && values.TryGetValue(key, out var setting) ? setting.Line : Line);

    /// <summary>An error at <paramref name="key"/>'s line (the table's when null or absent).</summary>
    public void Error(string? key, string message) => errors.Add($"{Where(key)}: {message}");

    /// <summary>An error at a line of its own (an item of an inline table).</summary>
    public void ErrorAt(int settingLine, string message) => errors.Add($"{where(settingLine)}: {message}");

    /// <summary>A string value, or null (with an error unless absent).</summary>
    public string? Text(string key) => values.TryGetValue(key, out var setting) ? Text(setting) : null;

    /// <summary>A string value of one setting, or null with an error.</summary>
    public string? Text(PortSetting setting)
    {
        if (setting.Value is string text)
        {
            return text;
        }

        ErrorAt(setting.Line, $"{setting.Key} must be a string in double quotes");
        return null;
    }

    /// <summary>A bool value, or <paramref name="absent"/>.</summary>
    public bool Flag(string key, bool absent)
    {
        if (!values.TryGetValue(key, out var setting))
        {
            return absent;
        }

        if (setting.Value is bool flag)
        {
            return flag;
        }

        ErrorAt(setting.Line, $"{key} must be true or false");
        return absent;
    }

    /// <summary>An integer from <paramref name="min"/> to <paramref name="max"/>, or <paramref name="absent"/>; a float is refused as one.</summary>
    public int Number(string key, int min, int max, int absent) =>
        values.TryGetValue(key, out var setting) ? Number(setting, min, max) : absent;

    /// <summary>An integer setting from <paramref name="min"/> to <paramref name="max"/>; <paramref name="min"/> (with an error) when it is not.</summary>
    public int Number(PortSetting setting, int min, int max)
    {
        if (setting.Value is long number && number >= min && number <= max)
        {
            return (int)number;
        }

        ErrorAt(setting.Line, $"{setting.Key} must be {IntegerRange(min, max)}{(setting.Value is double ? NotAFloat : string.Empty)}");
        return min;
    }

    /// <summary>An interface name, checked; null when absent or bad.</summary>
    public string? Interface(string key = "interface")
    {
        var name = Text(key);
        if (name is not null && !NetDevice.IsValidName(name))
        {
            Error(key, $"{key} \"{name}\" is not valid; use {InterfaceHelp}");
            return null;
        }

        return name;
    }

    /// <summary>An absolute path, checked; null when absent or relative.</summary>
    public string? AbsolutePath(string key = "path")
    {
        var path = Text(key);
        if (path is not null && !System.IO.Path.IsPathFullyQualified(path))
        {
            Error(key, $"{key} \"{path}\" must be absolute (QEMU and the switch may run in different directories)");
            return null;
        }

        return path;
    }

    /// <summary>The unix socket a QEMU port binds or connects to: <c>path</c>, absolute and required.</summary>
    public string? SocketPath()
    {
        var before = ErrorCount;
        var path = AbsolutePath();
        if (path is null && ErrorCount == before)
        {
            Error(null, $"[[port]] of type \"{Type}\" has no path; add path = \"/run/userbridge/vm1.sock\" (the unix socket QEMU uses)");
        }

        return path;
    }

    /// <summary>
    /// The socket file's mode: <c>mode</c> when it is an octal string (a VLAN mode word is the VLAN rules'), that keeps
    /// read and write for the owner; <see cref="SocketFile.DefaultMode"/> otherwise.
    /// </summary>
    public UnixFileMode SocketMode()
    {
        if (!values.TryGetValue("mode", out var setting) || (setting.Value is string word && isVlanMode(word)))
        {
            return SocketFile.DefaultMode;
        }

        var text = Text(setting);
        if (text is not null && text.Length is 3 or 4 && int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out _) && text.All(c => c is >= '0' and <= '7'))
        {
            var mode = Convert.ToInt32(text, 8);
            if ((mode & 0b110_000_000) == 0b110_000_000 && mode <= 0b111_111_111)
            {
                return (UnixFileMode)mode;
            }
        }

        ErrorAt(setting.Line, "mode must be an octal string such as \"0600\" or \"0660\" that keeps read and write for the owner (socket file), or \"access\", \"trunk\" or \"dot1q-tunnel\" (VLAN mode)");
        return SocketFile.DefaultMode;
    }
}
