using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.Json;
using UserBridge.Control.Config;
using UserBridge.Control.Runtime;
using UserBridge.Core.Frames;
using UserBridge.Core.Observers;
using UserBridge.Core.Ports;
using UserBridge.Core.Switching;
using UserBridge.Linux.Ports;

namespace UserBridge.Control.Management;

/// <summary>The verbs that change a running switch's MAC table and ports.</summary>
public static partial class ManagementVerbs
{
    private static readonly string[] PortSetKeys = ["name", "state", "mode", "vlan", "allowed", "native", "tpid"];

    private static JsonObject FdbAdd(RunningSwitch manager, JsonObject args)
    {
        var mac = Mac(args, "fdb add");
        if (mac.IsMulticast || mac.IsZero)
        {
            // Frames to a group address are flooded by rule, and no station sends from one or from all zeros: an entry for
            // either would only pin every such frame to one port.
            throw new ManagementException($"fdb add: {mac} is {(mac.IsZero ? "the all-zero address" : mac.IsBroadcast ? "the broadcast address" : "a multicast (group) address")}, not a station's; a static entry needs a unicast MAC");
        }

        var portName = ManagementArgs.Text(args, "port") ?? throw new ManagementException("fdb add needs the port the MAC is behind");
        var snapshot = manager.Bridge.Snapshot;
        var slot = snapshot.Find(portName) ?? throw new ManagementException($"no port named '{portName}'");
        var vlan = ManagementArgs.WholeNumber(args, "vlan") ?? DefaultVlan(snapshot, slot);
        if (vlan is < 0 or > PortVlan.MaxVid || (snapshot.VlanAware && !slot.Vlan.Carries(vlan)))
        {
            throw new ManagementException(snapshot.VlanAware
                ? $"port {portName} is not in VLAN {vlan}; give a VLAN it carries"
                : $"VLAN {vlan} is not valid; use 0 (the switch has no VLAN settings) or 1 to {PortVlan.MaxVid}");
        }

        var remote = ManagementArgs.Text(args, "remote");
        if (remote is not null)
        {
            var tunnel = slot.Port as ITunnelPort ?? throw new ManagementException($"port {portName} is a {slot.Port.Type} port; --remote applies to vxlan and geneve ports");
            if (tunnel.AddStaticRemote(mac, vlan, remote) is { } error)
            {
                throw new ManagementException(error);
            }
        }

        if (!manager.Bridge.MacTable.AddStatic(mac, vlan, slot.Index))
        {
            throw new ManagementException($"the MAC table has no room for {mac} in VLAN {vlan}: its bucket holds only static entries");
        }

        var reply = new JsonObject { ["mac"] = mac.ToString(), ["vlan"] = vlan, ["port"] = portName, ["static"] = true };
        if (remote is not null)
        {
            reply["remote"] = remote;
        }

        return reply;
    }

    private static JsonObject FdbDel(RunningSwitch manager, JsonObject args)
    {
        var mac = Mac(args, "fdb del");
        var vlan = ManagementArgs.WholeNumber(args, "vlan") ?? 0;
        if (manager.Bridge.Snapshot.TryGetPort(manager.Bridge.MacTable.Lookup(mac, vlan), out var slot) && slot.Port is ITunnelPort tunnel)
        {
            tunnel.RemoveRemote(mac, vlan);
        }

        return manager.Bridge.MacTable.Remove(mac, vlan)
            ? new JsonObject { ["removed"] = mac.ToString(), ["vlan"] = vlan }
            : throw new ManagementException($"{mac} is not in the MAC table in VLAN {vlan}{(args["vlan"] is null ? " (give --vlan for another VLAN)" : string.Empty)}");
    }

    private static JsonObject FdbFlush(RunningSwitch manager, JsonObject args)
    {
        var bridge = manager.Bridge;
        var portName = ManagementArgs.Text(args, "port");
        var vlan = ManagementArgs.WholeNumber(args, "vlan");
        int? portIndex = portName is null ? null : (bridge.Snapshot.Find(portName) ?? throw new ManagementException($"no port named '{portName}'")).Index;
        var removed = 0;
        foreach (var entry in bridge.MacTable.GetEntries())
        {
            if (!entry.IsStatic && (portIndex is null || entry.Port == portIndex) && (vlan is null || entry.Vlan == vlan) && bridge.MacTable.Remove(entry.Mac, entry.Vlan))
            {
                removed++;
            }
        }

        return new JsonObject { ["flushed"] = removed };
    }

    private static JsonObject PortSet(RunningSwitch manager, JsonObject args)
    {
        var name = ManagementArgs.Text(args, "name") ?? throw new ManagementException("port set needs the port's name");
        var unknown = args.Select(pair => pair.Key).Where(key => !PortSetKeys.Contains(key)).ToList();
        if (unknown.Count > 0)
        {
            throw new ManagementException($"port set: unknown setting '{unknown[0]}'; allowed: {string.Join(", ", PortSetKeys.Skip(1))}");
        }

        var bridge = manager.Bridge;
        if (bridge.Snapshot.Find(name) is null)
        {
            throw new ManagementException($"no port named '{name}'");
        }

        // The config's rules skip a mode that is not a VLAN mode word (a socket port's file mode is "0660"); port set
        // takes VLAN modes only, so anything else here is a mistake to refuse, not a mode to leave unchanged.
        if (ManagementArgs.Text(args, "mode") is { } mode && !VlanRules.IsVlanMode(mode))
        {
            throw new ManagementException($"port set: mode \"{mode}\" is not known; use \"{VlanRules.Access}\", \"{VlanRules.Trunk}\" or \"{VlanRules.Dot1qTunnel}\"");
        }

        var state = ManagementArgs.Text(args, "state");
        if (state is not (null or "up" or "down"))
        {
            throw new ManagementException($"port set: state \"{state}\" is not known; use \"up\" or \"down\"");
        }

        var vlanSettings = Settings(args).Where(setting => setting.Key is not ("name" or "state")).ToDictionary(setting => setting.Key, StringComparer.Ordinal);
        if (vlanSettings.Count > 0)
        {
            var errors = new List<string>();
            var vlan = VlanRules.Build(vlanSettings, _ => "port set", errors);
            if (errors.Count > 0)
            {
                throw new ConfigException(errors);
            }

            bridge.SetPortVlan(name, vlan);
        }

        if (state is not null)
        {
            bridge.SetPortUp(name, state == "up");
        }

        return PortRow(bridge, name);
    }

    private static JsonObject MirrorAdd(RunningSwitch manager, JsonObject args)
    {
        var sources = args["sources"] switch
        {
            JsonArray list => list.Select(item => item?.GetValueKind() == JsonValueKind.String ? item.GetValue<string>() : throw new ManagementException("mirror add: sources are port names")).ToHashSet(StringComparer.Ordinal),
            JsonValue single when single.GetValueKind() == JsonValueKind.String => single.GetValue<string>().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.Ordinal),
            _ => throw new ManagementException("mirror add needs sources: the ports whose traffic is copied"),
        };
        var output = ManagementArgs.Text(args, "output") ?? throw new ManagementException("mirror add needs output: the port the copies go out of");
        var directionText = ManagementArgs.Text(args, "direction") ?? "both";
        if (!ObserverDirections.TryParse(directionText, out var direction))
        {
            throw new ManagementException($"mirror add: direction \"{directionText}\" is not known; use \"in\", \"out\" or \"both\"");
        }

        var vlan = ManagementArgs.WholeNumber(args, "vlan") ?? 0;
        if (vlan is < 0 or > PortVlan.MaxVid)
        {
            throw new ManagementException($"mirror add: vlan {vlan} is not valid; use 1 to {PortVlan.MaxVid}, or leave it out to copy frames as they are");
        }

        var mirror = new MirrorConfig(sources, output) { Direction = direction, Vlan = vlan };
        manager.Captures.AddMirror(mirror);
        return DescribeMirror(mirror);
    }

    private static JsonObject MirrorDel(RunningSwitch manager, JsonObject args)
    {
        var output = ManagementArgs.Text(args, "output") ?? throw new ManagementException("mirror del needs output: the port the mirror sends to");
        return manager.Captures.RemoveMirror(output)
            ? new JsonObject { ["removed"] = output }
            : throw new ManagementException($"no mirror sends to '{output}'");
    }

    private static JsonObject Reload(RunningSwitch manager, JsonObject args) =>
        new() { ["changes"] = new JsonArray([.. manager.ReloadConfig().Select(change => JsonValue.Create(change))]) };

    /// <summary>
    /// A request's arguments as the settings of a <c>[[port]]</c> table, typed as the config file's are: only a JSON
    /// string is a string, a number that is not an integer is a <see cref="double"/> (refused as a float where an
    /// integer is wanted), and anything else (null, an object) stays a JSON value that no key takes.
    /// </summary>
    private static List<PortSetting> Settings(JsonObject args)
    {
        var settings = new List<PortSetting>();
        foreach (var (key, value) in args)
        {
            settings.Add(new PortSetting(key, SettingValue(value), 0));
        }

        return settings;
    }

    private static object SettingValue(JsonNode? value) => value?.GetValueKind() switch
    {
        JsonValueKind.String => value.GetValue<string>(),
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        JsonValueKind.Number => long.TryParse(value.ToJsonString(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var whole) ? (object)whole : double.Parse(value.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture),
        JsonValueKind.Array => value.AsArray().Select(SettingValue).ToArray(),
        _ => (object?)value ?? JsonValueKind.Null,
    };

    private static MacAddress Mac(JsonObject args, string verb) =>
        MacAddress.Parse(ManagementArgs.Text(args, "mac") ?? throw new ManagementException($"{verb} needs a MAC address (aa:bb:cc:dd:ee:ff)"));

    /// <summary>The VLAN a static entry goes into when none is given: the port's own for an access port, else none.</summary>
    private static int DefaultVlan(BridgeSnapshot snapshot, PortSlot slot) =>
        !snapshot.VlanAware ? 0
        : slot.Vlan.Mode == VlanMode.Trunk ? throw new ManagementException($"port {slot.Name} is a trunk: give the VLAN of the entry")
        : slot.Vlan.Vlan;
}
