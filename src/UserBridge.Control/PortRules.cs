using System.Globalization;
using UserBridge.Core;
using UserBridge.Core.Overlay;
using UserBridge.Linux;

namespace UserBridge.Control;

/// <summary>One key = value of a port, from the config file (with its line) or from a <c>port add</c> request.</summary>
public readonly record struct PortSetting(string Key, object Value, int Line);

/// <summary>
/// Which settings each port type takes and how they are checked: one set of rules for the config file and
/// for <c>port add</c>, so both report the same errors.
/// </summary>
public static class PortRules
{
    public const string TypeTap = "tap";
    public const string TypeQemuStream = "qemu-stream";
    public const string TypeQemuDgram = "qemu-dgram";
    public const string TypePacket = "packet";
    public const string TypeVxlan = "vxlan";
    public const string TypeGeneve = "geneve";
    public const string RoleListen = "listen";
    public const string RoleConnect = "connect";

    /// <summary>The most queues of a multi-queue TAP (the kernel's limit is 256; more than cores buys nothing).</summary>
    public const int MaxQueues = 16;

    public static IReadOnlyList<string> Types { get; } = [TypeTap, TypePacket, TypeQemuStream, TypeQemuDgram, TypeVxlan, TypeGeneve];

    // "mode" is shared: a VLAN mode word (access, trunk, dot1q-tunnel) on any port, or an octal socket file mode
    // ("0660") on socket ports. The two kinds of value cannot be confused.
    private static readonly string[] VlanKeys = ["vlan", "allowed", "native", "tpid"];

    // Guards apply to every type of port.
    private static readonly string[] GuardKeys = ["bpdu_guard", "max_macs", "on_limit", "storm", "mtu"];

    private static readonly string[] StormKeys = ["broadcast_pps", "multicast_pps", "unknown_unicast_pps"];

    private static readonly Dictionary<string, string[]> KeysByType = new(StringComparer.Ordinal)
    {
        [TypeTap] = ["name", "type", "interface", "offload", "queues", "mode", .. VlanKeys, .. GuardKeys],
        [TypePacket] = ["name", "type", "interface", "mode", .. VlanKeys, .. GuardKeys],
        [TypeQemuStream] = ["name", "type", "path", "role", "multi", "max_connections", "mode", "group", .. VlanKeys, .. GuardKeys],
        [TypeQemuDgram] = ["name", "type", "path", "remote", "mode", "group", .. VlanKeys, .. GuardKeys],
        [TypeVxlan] = ["name", "type", "mode", .. OverlayRules.Keys, .. VlanKeys, .. GuardKeys],
        [TypeGeneve] = ["name", "type", "mode", .. OverlayRules.Keys, .. VlanKeys, .. GuardKeys],
    };

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

        var overlayProtocol = type switch { TypeVxlan => OverlayProtocol.Vxlan, TypeGeneve => OverlayProtocol.Geneve, _ => (OverlayProtocol?)null };
        var overlay = overlayProtocol is { } protocol ? OverlayRules.Build(protocol, values, line, where, errors) : null;
        var (interfaceName, path) = overlayProtocol is null ? Endpoint(type, values, line, where, errors) : (null, null);
        var endpoint = type is TypeTap or TypePacket ? interfaceName : path;

        var name = Optional(values, "name", where, errors) ?? (overlayProtocol is null ? DefaultName(type, endpoint) : $"{type}{overlay?.Vni}");
        if (name is null || !ConfigValues.IsValidName(name))
        {
            errors.Add($"{where(values.TryGetValue("name", out var n) ? n.Line : line)}: port name \"{name}\" is not valid; use {ConfigValues.NameHelp}");
        }

        var (role, multi, maxConnections) = StreamRole(values, where, errors);

        var vlan = OverlayRules.Vlan(overlay, VlanRules.Build(values, where, errors));
        var mode = SocketMode(values, where, errors);

        // An overlay port's group is its multicast group (in Overlay), not a socket file's group.
        var group = overlay is null ? Optional(values, "group", where, errors) : null;
        var remote = Optional(values, "remote", where, errors);
        var (offload, queues) = TapSettings(values, where, errors);
        var guard = Guard(values, where, errors, overlay is null);
        if (errors.Count > before)
        {
            return null;
        }

        return new PortConfig(name!, type, line)
        {
            Interface = interfaceName,
            Path = path,
            Role = role,
            Multi = multi,
            MaxConnections = maxConnections,
            Remote = remote,
            Mode = mode,
            Group = group,
            Vlan = vlan,
            Offload = offload,
            Queues = queues,
            Guard = guard,
            Overlay = overlay,
        };
    }

    /// <summary>The port's type (default tap), when it is known; every key it does not take is an error.</summary>
    private static string? KnownType(IReadOnlyList<PortSetting> settings, Dictionary<string, PortSetting> values, Func<int, string> where, List<string> errors)
    {
        var type = values.TryGetValue("type", out var typeSetting) ? String(typeSetting, where, errors) : TypeTap;
        if (type is null)
        {
            return null;
        }

        if (!KeysByType.TryGetValue(type, out var allowed))
        {
            errors.Add($"{where(typeSetting.Line)}: port type \"{type}\" is not known; allowed: {string.Join(", ", Types.Select(t => $"\"{t}\""))}");
            return null;
        }

        foreach (var setting in settings.Where(s => !allowed.Contains(s.Key)))
        {
            errors.Add($"{where(setting.Line)}: unknown key '{setting.Key}' in [[port]] of type \"{type}\"; allowed: {string.Join(", ", allowed)}");
        }

        return type;
    }

    /// <summary>The interface (tap, packet) or socket path (qemu-*) the port attaches to, checked.</summary>
    private static (string? Interface, string? Path) Endpoint(string type, Dictionary<string, PortSetting> values, int line, Func<int, string> where, List<string> errors)
    {
        var before = errors.Count;
        var interfaceName = Optional(values, "interface", where, errors);
        if (interfaceName is not null && !ConfigValues.IsValidInterfaceName(interfaceName))
        {
            errors.Add($"{where(values["interface"].Line)}: interface \"{interfaceName}\" is not valid; use {ConfigValues.InterfaceHelp}");
        }

        var path = Optional(values, "path", where, errors);
        if (path is not null && !Path.IsPathFullyQualified(path))
        {
            errors.Add($"{where(values["path"].Line)}: path \"{path}\" must be absolute (QEMU and the switch may run in different directories)");
        }

        var byInterface = type is TypeTap or TypePacket;
        if ((byInterface ? interfaceName : path) is null && errors.Count == before)
        {
            errors.Add(byInterface
                ? $"{where(line)}: [[port]] has no interface; add interface = \"IFNAME\" ({(type == TypeTap ? "the TAP to create or attach" : "the existing interface to attach: a VM's TAP, a veth")})"
                : $"{where(line)}: [[port]] of type \"{type}\" has no path; add path = \"/run/userbridge/vm1.sock\" (the unix socket QEMU uses)");
        }

        return (interfaceName, path);
    }

    /// <summary>The port's guards: BPDU guard, the MAC limit and what reaching it does.</summary>
    /// <remarks>On an overlay port <c>mtu</c> is the underlay's, checked by <see cref="OverlayRules"/>: no receive limit.</remarks>
    private static PortGuard Guard(Dictionary<string, PortSetting> values, Func<int, string> where, List<string> errors, bool frameMtu)
    {
        var bpduGuard = values.TryGetValue("bpdu_guard", out var bpduSetting) && Boolean(bpduSetting, where, errors);
        var maxMacs = values.TryGetValue("max_macs", out var maxSetting) ? Integer(maxSetting, 1, Limits.MaxMacTableSize, where, errors) : 0;
        var onLimit = MacLimitAction.Drop;
        if (values.TryGetValue("on_limit", out var limitSetting))
        {
            onLimit = String(limitSetting, where, errors) switch
            {
                "drop" or null => MacLimitAction.Drop,
                "log" => MacLimitAction.Log,
                "shutdown" => MacLimitAction.Shutdown,
                var other => Unknown(other),
            };

            if (maxMacs == 0)
            {
                errors.Add($"{where(limitSetting.Line)}: on_limit needs max_macs = N (the most MACs the port may hold)");
            }
        }

        var storm = values.TryGetValue("storm", out var stormSetting) ? Storm(stormSetting, where, errors) : default;
        var mtu = frameMtu && values.TryGetValue("mtu", out var mtuSetting) ? Integer(mtuSetting, 68, PortGuard.NoMtu, where, errors) : PortGuard.NoMtu;
        return new PortGuard { BpduGuard = bpduGuard, MaxMacs = maxMacs, OnLimit = onLimit, Storm = storm, Mtu = mtu };

        MacLimitAction Unknown(string word)
        {
            errors.Add($"{where(limitSetting.Line)}: on_limit = \"{word}\" is not known; allowed: \"drop\" (new MACs' frames dropped), \"log\" (forwarded, not learned) or \"shutdown\" (the port goes down)");
            return MacLimitAction.Drop;
        }
    }

    /// <summary><c>storm = { broadcast_pps = N, multicast_pps = N, unknown_unicast_pps = N }</c>, each optional.</summary>
    private static StormLimits Storm(PortSetting setting, Func<int, string> where, List<string> errors)
    {
        if (setting.Value is not IReadOnlyList<PortSetting> items)
        {
            errors.Add($"{where(setting.Line)}: storm must be an inline table such as storm = {{ broadcast_pps = 1000, multicast_pps = 1000, unknown_unicast_pps = 5000 }}");
            return default;
        }

        var rates = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var item in items)
        {
            if (!StormKeys.Contains(item.Key))
            {
                errors.Add($"{where(item.Line)}: unknown key '{item.Key}' in storm; allowed: {string.Join(", ", StormKeys)} (frames per second)");
                continue;
            }

            rates[item.Key] = Integer(item, 1, Limits.MaxStormPps, where, errors);
        }

        return new StormLimits(rates.GetValueOrDefault("broadcast_pps"), rates.GetValueOrDefault("multicast_pps"), rates.GetValueOrDefault("unknown_unicast_pps"));
    }

    /// <summary>A TAP's offloads (default on) and queue count (default 1).</summary>
    private static (bool Offload, int Queues) TapSettings(Dictionary<string, PortSetting> values, Func<int, string> where, List<string> errors)
    {
        var offload = !values.TryGetValue("offload", out var offloadSetting) || Boolean(offloadSetting, where, errors);
        var queues = values.TryGetValue("queues", out var queuesSetting) ? Integer(queuesSetting, 1, MaxQueues, where, errors) : 1;
        return (offload, queues);
    }

    /// <summary>The qemu-stream role, multi flag and connection limit, checked against each other.</summary>
    private static (string Role, bool Multi, int MaxConnections) StreamRole(Dictionary<string, PortSetting> values, Func<int, string> where, List<string> errors)
    {
        var role = Optional(values, "role", where, errors) ?? RoleListen;
        if (role is not (RoleListen or RoleConnect))
        {
            errors.Add($"{where(values["role"].Line)}: role \"{role}\" is not known; allowed: \"listen\" (QEMU connects with server=off) or \"connect\" (QEMU listens with server=on)");
        }

        var multi = values.TryGetValue("multi", out var multiSetting) && Boolean(multiSetting, where, errors);
        if (multi && role != RoleListen)
        {
            errors.Add($"{where(multiSetting.Line)}: multi = true needs role = \"listen\" (one socket the switch listens on, many VMs)");
        }

        var maxConnections = QemuStreamListener.DefaultMaxConnections;
        if (values.TryGetValue("max_connections", out var limitSetting))
        {
            maxConnections = Integer(limitSetting, 1, MacTable.MaxPorts, where, errors);
            if (!multi)
            {
                errors.Add($"{where(limitSetting.Line)}: max_connections needs multi = true (a socket without it serves one VM)");
            }
        }

        return (role, multi, maxConnections);
    }

    private static string? DefaultName(string type, string? endpoint) =>
        endpoint is null ? null : type is TypeTap or TypePacket ? endpoint : Path.GetFileNameWithoutExtension(endpoint);

    private static UnixFileMode SocketMode(Dictionary<string, PortSetting> values, Func<int, string> where, List<string> errors)
    {
        if (!values.TryGetValue("mode", out var setting) || setting.Value is string word && VlanRules.IsVlanMode(word))
        {
            return UserBridge.Linux.SocketFile.DefaultMode;
        }

        var text = String(setting, where, errors);
        if (text is not null && text.Length is 3 or 4 && int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out _) && text.All(c => c is >= '0' and <= '7'))
        {
            var mode = Convert.ToInt32(text, 8);
            if ((mode & 0b110_000_000) == 0b110_000_000 && mode <= 0b111_111_111)
            {
                return (UnixFileMode)mode;
            }
        }

        errors.Add($"{where(setting.Line)}: mode must be an octal string such as \"0600\" or \"0660\" that keeps read and write for the owner (socket file), or \"access\", \"trunk\" or \"dot1q-tunnel\" (VLAN mode)");
        return UserBridge.Linux.SocketFile.DefaultMode;
    }

    internal static string? Optional(Dictionary<string, PortSetting> values, string key, Func<int, string> where, List<string> errors) =>
        values.TryGetValue(key, out var setting) ? String(setting, where, errors) : null;

    internal static string? String(PortSetting setting, Func<int, string> where, List<string> errors)
    {
        if (setting.Value is string text)
        {
            return text;
        }

        errors.Add($"{where(setting.Line)}: {setting.Key} must be a string in double quotes");
        return null;
    }

    /// <summary>An integer setting from <paramref name="min"/> to <paramref name="max"/>; a float is refused as one.</summary>
    internal static int Integer(PortSetting setting, int min, int max, Func<int, string> where, List<string> errors)
    {
        if (setting.Value is long number && number >= min && number <= max)
        {
            return (int)number;
        }

        errors.Add($"{where(setting.Line)}: {setting.Key} must be {Limits.IntegerRange(min, max)}{(setting.Value is double ? Limits.NotAFloat : string.Empty)}");
        return min;
    }

    private static bool Boolean(PortSetting setting, Func<int, string> where, List<string> errors)
    {
        if (setting.Value is bool flag)
        {
            return flag;
        }

        errors.Add($"{where(setting.Line)}: {setting.Key} must be true or false");
        return false;
    }
}
