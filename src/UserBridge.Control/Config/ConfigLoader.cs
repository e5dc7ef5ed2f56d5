using System.Net;
using Tomlyn.Parsing;
using Tomlyn.Syntax;
using UserBridge.Control.Management;
using UserBridge.Core.Learning;
using UserBridge.Linux.Ports;

namespace UserBridge.Control.Config;

/// <summary>
/// Reads the TOML config. It walks Tomlyn's syntax tree rather than binding to objects so that every error can
/// name the line it is on: unknown keys, wrong types, bad values and duplicate ports are all reported together,
/// before anything starts.
/// </summary>
public static class ConfigLoader
{
    private static readonly string[] SwitchKeys = ["name", "aging", "mac_table_size", "control", "vlan_filtering", "forward_link_local", "cpus", "pollers", "metrics", "user", "group", "runtime_changes", "runtime_ports", "max_clients", "max_clients_per_user"];

    public static SwitchConfig LoadFile(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException([$"{path}: cannot read the config file: {ex.Message}"]);
        }

        return Parse(text, path);
    }

    public static SwitchConfig Parse(string text, string sourceName)
    {
        var errors = new List<string>();
        var document = SyntaxParser.Parse(text, sourceName, true);
        foreach (var diagnostic in document.Diagnostics)
        {
            errors.Add($"{sourceName}:{diagnostic.Span.Start.Line + 1}: {diagnostic.Message}");
        }

        if (errors.Count > 0)
        {
            throw new ConfigException(errors);
        }

        var config = new SwitchConfig();
        foreach (var keyValue in document.KeyValues)
        {
            config = ApplySwitchKey(config, keyValue, sourceName, errors);
        }

        var (ports, mirrors, capture) = ReadTables(document, sourceName, errors);
        config = config with { Ports = ports, Mirrors = mirrors, Capture = capture };
        errors.AddRange(Validate(config, sourceName));
        if (errors.Count > 0)
        {
            throw new ConfigException(errors);
        }

        return config;
    }

    /// <summary>The <c>[[port]]</c>, <c>[[mirror]]</c> and <c>[capture]</c> tables, each checked key by key.</summary>
    private static (List<PortConfig> Ports, List<MirrorConfig> Mirrors, CaptureConfig? Capture) ReadTables(DocumentSyntax document, string sourceName, List<string> errors)
    {
        var ports = new List<PortConfig>();
        var mirrors = new List<MirrorConfig>();
        CaptureConfig? capture = null;
        string Where(int line) => $"{sourceName}:{line}";
        foreach (var table in document.Tables)
        {
            var tableName = KeyText(table.Name);
            var line = Line(table);
            switch (table, tableName)
            {
                case (TableArraySyntax, "port"):
                    if (ReadPort(table, sourceName, errors) is { } port)
                    {
                        ports.Add(port);
                    }

                    break;
                case (TableArraySyntax, "mirror"):
                    if (ObserverRules.ReadMirror(table, line, Where, errors) is { } mirror)
                    {
                        mirrors.Add(mirror);
                    }

                    break;
                case (TableSyntax, "capture") when capture is null:
                    capture = ObserverRules.ReadCapture(table, line, Where, errors);
                    break;
                default:
                    errors.Add($"{sourceName}:{line}: unknown table [{tableName}]; allowed: [[port]] (one per port), [[mirror]] (one per mirror) and one [capture]");
                    break;
            }
        }

        return (ports, mirrors, capture);
    }

    /// <summary>The checks that span several entries (duplicates), for files and flags alike.</summary>
    public static List<string> Validate(SwitchConfig config, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(config);
        var errors = new List<string>();
        var names = new Dictionary<string, PortConfig>(StringComparer.Ordinal);
        var interfaces = new Dictionary<string, PortConfig>(StringComparer.Ordinal);
        foreach (var port in config.Ports)
        {
            if (!names.TryAdd(port.Name, port))
            {
                errors.Add($"{Where(sourceName, port)}: duplicate port name '{port.Name}' (first at {Where(sourceName, names[port.Name])}); give each port its own name");
            }
            else if (!interfaces.TryAdd(port.Endpoint, port))
            {
                errors.Add($"{Where(sourceName, port)}: {port.Settings.EndpointKind} '{port.Endpoint}' is already used by port '{interfaces[port.Endpoint].Name}'; each can be one port only");
            }
        }

        ObserverRules.Validate(config, sourceName, errors);
        if (config.Ports.Count > MacTable.MaxPorts)
        {
            errors.Add($"{sourceName}: {config.Ports.Count} ports; the switch holds at most {MacTable.MaxPorts}");
        }

        return errors;
    }

    private static string Where(string sourceName, PortConfig port) => port.Line > 0 ? $"{sourceName}:{port.Line}" : sourceName;

    private static SwitchConfig ApplySwitchKey(SwitchConfig config, KeyValueSyntax keyValue, string sourceName, List<string> errors)
    {
        var key = KeyText(keyValue.Key);
        var at = $"{sourceName}:{Line(keyValue)}";
        switch (key)
        {
            case "name":
                return TryReadParsed(keyValue, at, errors, key, static (string text, out string name) => ConfigValues.IsValidName(name = text), $"use {ConfigValues.NameHelp}", out var name)
                    ? config with { Name = name }
                    : config;
            case "aging":
                var aging = ReadDuration(keyValue, at, errors);
                return aging is null ? config : config with { Aging = aging.Value };
            case "mac_table_size":
                var size = ReadInteger(keyValue, at, errors, 1, Limits.MaxMacTableSize);
                return size is null ? config : config with { MacTableSize = (int)size.Value };
            case "control":
                var control = ReadString(keyValue, at, errors);
                return control is null ? config : config with { Control = control };
            case "cpus":
                return TryReadParsed<IReadOnlyList<int>>(keyValue, at, errors, key, ConfigValues.TryParseCpus, $"use {ConfigValues.CpusHelp} of the {Environment.ProcessorCount} CPUs of this machine", out var cpus)
                    ? config with { Cpus = cpus }
                    : config;
            case "metrics":
                return TryReadParsed(keyValue, at, errors, key, static (string text, out IPEndPoint? endpoint) => IPEndPoint.TryParse(text, out endpoint) && endpoint.Port != 0, "use ADDRESS:PORT, such as \"127.0.0.1:9464\"", out var metrics)
                    ? config with { Metrics = metrics }
                    : config;
            case "pollers":
                var pollers = ReadInteger(keyValue, at, errors, 0, SwitchConfig.MaxPollers);
                return pollers is null ? config : config with { Pollers = (int)pollers.Value };
            case "vlan_filtering":
                return ReadBoolean(keyValue, at, errors) is { } filtering ? config with { VlanFiltering = filtering } : config;
            case "user":
                return TryReadParsed(keyValue, at, errors, key, static (string text, out string value) => ConfigValues.IsValidAccountName(value = text), "use the name of an existing user, such as \"userbridge\"", out var user)
                    ? config with { User = user }
                    : config;
            case "group":
                return TryReadParsed(keyValue, at, errors, key, static (string text, out string value) => ConfigValues.IsValidAccountName(value = text), "use the name of an existing group, such as \"netdev\"", out var group)
                    ? config with { Group = group }
                    : config;
            case "runtime_changes":
                return ReadBoolean(keyValue, at, errors) is { } changes ? config with { RuntimeChanges = changes } : config;
            case "runtime_ports":
                return RuntimePorts.Read(keyValue, at, errors) is { } runtimePorts ? config with { RuntimePorts = runtimePorts } : config;
            case "max_clients":
                var clients = ReadInteger(keyValue, at, errors, 1, ManagementOptions.MaxClientsLimit);
                return clients is null ? config : config with { MaxClients = (int)clients.Value };
            case "max_clients_per_user":
                var perUser = ReadInteger(keyValue, at, errors, 1, ManagementOptions.MaxClientsLimit);
                return perUser is null ? config : config with { MaxClientsPerUser = (int)perUser.Value };
            case "forward_link_local":
                return ReadBoolean(keyValue, at, errors) is { } forward ? config with { ForwardLinkLocal = forward } : config;
            default:
                errors.Add($"{at}: unknown key '{key}'; allowed at the top level: {string.Join(", ", SwitchKeys)}, [[port]], [[mirror]] and [capture] tables");
                return config;
        }
    }

    /// <summary>A string value parsed by <paramref name="parse"/>; false (with an error naming the value and <paramref name="help"/>) when it does not parse.</summary>
    private static bool TryReadParsed<T>(KeyValueSyntax keyValue, string at, List<string> errors, string key, TextParser<T> parse, string help, out T value)
    {
        value = default!;
        var text = ReadString(keyValue, at, errors);
        if (text is null)
        {
            return false;
        }

        if (!parse(text, out value))
        {
            errors.Add($"{at}: {key} = \"{text}\" is not valid; {help}");
            return false;
        }

        return true;
    }

    private delegate bool TextParser<T>(string text, out T value);

    private static PortConfig? ReadPort(TableSyntaxBase table, string sourceName, List<string> errors)
    {
        var settings = table.Items.Select(PortSettingOf).ToList();
        return PortRules.Build(settings, Line(table), line => $"{sourceName}:{line}", errors);
    }

    /// <summary>
    /// One key = value of a port; an inline table (<c>storm = { ... }</c>) becomes the list of its own settings. Only a
    /// string in quotes becomes a <see cref="string"/>: a float stays a <see cref="double"/> (so that <c>group = 1e999</c>
    /// is not taken as the name "1e999" and <c>mtu = 1500.0</c> is refused as a float), and any other value (a date, an
    /// array item that is not a string) stays its syntax node, which no key takes.
    /// </summary>
    private static PortSetting PortSettingOf(KeyValueSyntax keyValue) =>
        new(KeyText(keyValue.Key), ValueOf(keyValue.Value!), Line(keyValue));

    private static object ValueOf(ValueSyntax value) => value switch
    {
        StringValueSyntax text => text.Value ?? string.Empty,
        BooleanValueSyntax flag => flag.Value,
        IntegerValueSyntax number => number.Value,
        FloatValueSyntax real => real.Value,
        InlineTableSyntax inline => inline.Items.Where(item => item.KeyValue is not null).Select(item => PortSettingOf(item.KeyValue!)).ToList(),
        ArraySyntax array => array.Items.Select(item => ValueOf(item.Value!)).ToArray(),
        _ => value,
    };

    internal static string? ReadString(KeyValueSyntax keyValue, string at, List<string> errors)
    {
        if (keyValue.Value is StringValueSyntax text)
        {
            return text.Value;
        }

        errors.Add($"{at}: {KeyText(keyValue.Key)} must be a string in double quotes");
        return null;
    }

    internal static bool? ReadBoolean(KeyValueSyntax keyValue, string at, List<string> errors)
    {
        if (keyValue.Value is BooleanValueSyntax flag)
        {
            return flag.Value;
        }

        errors.Add($"{at}: {KeyText(keyValue.Key)} must be true or false");
        return null;
    }

    internal static long? ReadInteger(KeyValueSyntax keyValue, string at, List<string> errors, long min, long max)
    {
        if (keyValue.Value is IntegerValueSyntax number && number.Value >= min && number.Value <= max)
        {
            return number.Value;
        }

        errors.Add($"{at}: {KeyText(keyValue.Key)} must be {Limits.IntegerRange(min, max)}{(keyValue.Value is FloatValueSyntax ? Limits.NotAFloat : string.Empty)}");
        return null;
    }

    private static TimeSpan? ReadDuration(KeyValueSyntax keyValue, string at, List<string> errors)
    {
        switch (keyValue.Value)
        {
            case StringValueSyntax { Value: { } text } when ConfigValues.TryParseDuration(text, out var duration):
                return duration;
            case IntegerValueSyntax seconds when seconds.Value is >= Limits.MinDurationSeconds and <= Limits.MaxDurationSeconds:
                return TimeSpan.FromSeconds(seconds.Value);
            default:
                errors.Add($"{at}: {KeyText(keyValue.Key)} must be {ConfigValues.DurationHelp}");
                return null;
        }
    }

    internal static string KeyText(KeySyntax? key)
    {
        if (key is null)
        {
            return string.Empty;
        }

        var text = key.Key switch
        {
            BareKeySyntax bare => bare.Key?.Text ?? string.Empty,
            StringValueSyntax quoted => quoted.Value ?? string.Empty,
            _ => string.Empty,
        };
        foreach (var dotted in key.DotKeys)
        {
            text += "." + dotted.Key switch
            {
                BareKeySyntax bare => bare.Key?.Text ?? string.Empty,
                StringValueSyntax quoted => quoted.Value ?? string.Empty,
                _ => string.Empty,
            };
        }

        return text;
    }

    internal static int Line(SyntaxNode node) => node.Span.Start.Line + 1;
}
