using UserBridge.Core.Forwarding;
using UserBridge.Core.Ports;
using UserBridge.Linux.Ports;

namespace UserBridge.Control.Config;

/// <summary>
/// The keys every port has, whatever its type (<c>name</c>, <c>type</c>, the VLAN settings, the guards), and the
/// dispatch to its type (<see cref="PortTypes"/>) for the rest: one set of rules for the config file and for
/// <c>port add</c>, so both report the same errors.
/// </summary>
public static class PortRules
{
    /// <summary>The VLAN keys; <c>mode</c> is shared with the socket types, a VLAN mode word here, an octal file mode there.</summary>
    public static IReadOnlyList<PortKey> VlanKeys { get; } =
    [
        new("mode", "\"access\" (the default on a VLAN-aware switch), \"trunk\" or \"dot1q-tunnel\""),
        new("vlan", "the access or tunnel VLAN, 1 to 4094", PortKeyKind.Number, PortVlan.MinVid, PortVlan.MaxVid),
        new("allowed", "a trunk's VLANs, \"10,20,100-199\" (default all)"),
        new("native", "a trunk's untagged VLAN, 1 to 4094", PortKeyKind.Number, PortVlan.MinVid, PortVlan.MaxVid),
        new("tpid", "a trunk's tag type, \"0x8100\" (default) or \"0x88a8\""),
    ];

    /// <summary>The guard keys, which every port takes.</summary>
    public static IReadOnlyList<PortKey> GuardKeys { get; } =
    [
        new("bpdu_guard", "take the port down when a spanning-tree BPDU arrives (default false)", PortKeyKind.Flag),
        new("max_macs", $"the most MACs learned on the port, 1 to {Limits.MaxMacTableSize}", PortKeyKind.Number, 1, Limits.MaxMacTableSize),
        new("on_limit", "what a new MAC over max_macs does: \"drop\" (default), \"log\" or \"shutdown\""),
        new("storm", "flood limits in frames per second: { broadcast_pps = N, multicast_pps = N, unknown_unicast_pps = N }", PortKeyKind.Table),
        new("mtu", "frames longer than this (plus an Ethernet header and two tags) are dropped, 68 to 65535", PortKeyKind.Number, 68, PortGuard.NoMtu),
    ];

    private static readonly string[] StormKeys = ["broadcast_pps", "multicast_pps", "unknown_unicast_pps"];
    private static readonly string[] NameAndType = ["name", "type"];

    /// <summary>Every key a port of <paramref name="type"/> takes, in the order errors list them.</summary>
    public static IEnumerable<string> KeysOf(IPortType type)
    {
        ArgumentNullException.ThrowIfNull(type);
        return NameAndType
            .Concat(type.Keys.Select(key => key.Name))
            .Concat(VlanKeys.Select(key => key.Name))
            .Concat(GuardKeys.Select(key => key.Name))
            .Distinct(StringComparer.Ordinal);
    }

    /// <summary>
    /// Builds a port from its settings, or adds to <paramref name="errors"/> (each prefixed by
    /// <paramref name="where"/> of the setting's line) and returns null.
    /// </summary>
    public static PortConfig? Build(IReadOnlyList<PortSetting> settings, int line, Func<int, string> where, List<string> errors)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(where);
        ArgumentNullException.ThrowIfNull(errors);
        var before = errors.Count;
        var values = new Dictionary<string, PortSetting>(StringComparer.Ordinal);
        foreach (var setting in settings)
        {
            values[setting.Key] = setting;
        }

        var type = KnownType(settings, values, where, errors);
        if (type is null)
        {
            return null;
        }

        var reader = new PortSettingsReader(type.Name, values, line, where, errors, VlanRules.IsVlanMode);
        var typeSettings = type.Read(reader);
        var name = reader.Text("name") ?? typeSettings?.DefaultName;
        if (name is null || !ConfigValues.IsValidName(name))
        {
            reader.Error("name", $"port name \"{name}\" is not valid; use {ConfigValues.NameHelp}");
        }

        if (type.Keys.All(key => key.Name != "mode"))
        {
            // Not a socket type: its mode can only be a VLAN mode word; the reader's error names both kinds.
            reader.SocketMode();
        }

        var vlan = VlanRules.Build(values, where, errors);
        var guard = Guard(reader, frameMtu: type.Keys.All(key => key.Name != "mtu"));
        if (errors.Count > before || typeSettings is null)
        {
            return null;
        }

        return new PortConfig(name!, type, typeSettings, line)
        {
            Vlan = type.Vlan(typeSettings, vlan),
            Guard = guard,
        };
    }

    /// <summary>The port's type (default tap), when it is known; every key it does not take is an error.</summary>
    private static IPortType? KnownType(IReadOnlyList<PortSetting> settings, Dictionary<string, PortSetting> values, Func<int, string> where, List<string> errors)
    {
        IPortType? type = PortTypes.Default;
        if (values.TryGetValue("type", out var typeSetting))
        {
            if (typeSetting.Value is not string name)
            {
                errors.Add($"{where(typeSetting.Line)}: type must be a string in double quotes");
                return null;
            }

            type = PortTypes.Find(name);
            if (type is null)
            {
                errors.Add($"{where(typeSetting.Line)}: port type \"{name}\" is not known; allowed: {string.Join(", ", PortTypes.Names.Select(t => $"\"{t}\""))}");
                return null;
            }
        }

        var allowed = KeysOf(type).ToList();
        foreach (var setting in settings.Where(s => !allowed.Contains(s.Key)))
        {
            errors.Add($"{where(setting.Line)}: unknown key '{setting.Key}' in [[port]] of type \"{type.Name}\"; allowed: {string.Join(", ", allowed)}");
        }

        return type;
    }

    /// <summary>The port's guards: BPDU guard, the MAC limit and what reaching it does.</summary>
    /// <remarks>A type that takes <c>mtu</c> itself (an overlay port: the underlay's) has no receive limit of it.</remarks>
    private static PortGuard Guard(PortSettingsReader reader, bool frameMtu)
    {
        var bpduGuard = reader.Flag("bpdu_guard", absent: false);
        var maxMacs = reader.Number("max_macs", 1, Limits.MaxMacTableSize, absent: 0);
        var onLimit = MacLimitAction.Drop;
        if (reader.Raw("on_limit") is { } limitSetting)
        {
            onLimit = reader.Text(limitSetting) switch
            {
                "drop" or null => MacLimitAction.Drop,
                "log" => MacLimitAction.Log,
                "shutdown" => MacLimitAction.Shutdown,
                var other => Unknown(other),
            };

            if (maxMacs == 0)
            {
                reader.Error("on_limit", "on_limit needs max_macs = N (the most MACs the port may hold)");
            }
        }

        var storm = reader.Raw("storm") is { } stormSetting ? Storm(stormSetting, reader) : default;
        var mtu = frameMtu ? reader.Number("mtu", 68, PortGuard.NoMtu, absent: PortGuard.NoMtu) : PortGuard.NoMtu;
        return new PortGuard { BpduGuard = bpduGuard, MaxMacs = maxMacs, OnLimit = onLimit, Storm = storm, Mtu = mtu };

        MacLimitAction Unknown(string word)
        {
            reader.Error("on_limit", $"on_limit = \"{word}\" is not known; allowed: \"drop\" (new MACs' frames dropped), \"log\" (forwarded, not learned) or \"shutdown\" (the port goes down)");
            return MacLimitAction.Drop;
        }
    }

    /// <summary><c>storm = { broadcast_pps = N, multicast_pps = N, unknown_unicast_pps = N }</c>, each optional.</summary>
    private static StormLimits Storm(PortSetting setting, PortSettingsReader reader)
    {
        if (setting.Value is not IReadOnlyList<PortSetting> items)
        {
            reader.Error("storm", $"storm must be an inline table such as storm = {{ broadcast_pps = 1000, multicast_pps = 1000, unknown_unicast_pps = 5000 }}");
            return default;
        }

        var rates = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var item in items)
        {
            if (!StormKeys.Contains(item.Key))
            {
                reader.ErrorAt(item.Line, $"unknown key '{item.Key}' in storm; allowed: {string.Join(", ", StormKeys)} (frames per second)");
                continue;
            }

            rates[item.Key] = reader.Number(item, 1, Limits.MaxStormPps);
        }

        return new StormLimits(rates.GetValueOrDefault("broadcast_pps"), rates.GetValueOrDefault("multicast_pps"), rates.GetValueOrDefault("unknown_unicast_pps"));
    }
}
