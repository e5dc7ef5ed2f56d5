using System.Reflection;
using System.Text.Json.Nodes;
using UserBridge.Control.Config;
using UserBridge.Control.Runtime;
using UserBridge.Core.Observers;
using UserBridge.Core.Ports;

namespace UserBridge.Control.Management;

/// <summary>One management command: its name (as typed after <c>userbridge</c>), help, and what it does.</summary>
public sealed record ManagementVerb(string Name, string Help, Func<ManagementRequest, ManagementReply> Run)
{
    /// <summary>A verb that needs only the switch and its arguments, and answers one JSON value.</summary>
    public ManagementVerb(string name, string help, Func<RunningSwitch, JsonObject, JsonNode> handler)
        : this(name, help, request => ManagementReply.Ok(handler(request.Ports, request.Args)))
    {
    }
}

/// <summary>
/// The verb table: the one list of what the management socket answers. The CLI sends these names; it has
/// no logic of its own.
/// </summary>
public static partial class ManagementVerbs
{
    public static IReadOnlyDictionary<string, ManagementVerb> All { get; } = new Dictionary<string, ManagementVerb>(StringComparer.Ordinal)
    {
        ["fdb show"] = new("fdb show", "list the MAC table: mac, vlan, port, age, static, and the remote VTEP of an overlay port's stations (args: port, vlan)", FdbShow),
        ["fdb add"] = new("fdb add", "add or replace a static entry (args: mac, port, vlan: default the port's access VLAN, or 0 on a switch without VLANs; remote: the VTEP behind a vxlan or geneve port)", FdbAdd),
        ["fdb del"] = new("fdb del", "remove an entry, static or learned (args: mac, vlan)", FdbDel),
        ["fdb flush"] = new("fdb flush", "remove learned entries: all, or those on a port and/or in a VLAN; static ones stay (args: port, vlan)", FdbFlush),
        ["port show"] = new("port show", "list ports with state and counters (args: port)", PortShow),
        ["vlan show"] = new("vlan show", "list VLANs with their member ports, tagged or untagged (args: vlan, port)", VlanShow),
        ["port add"] = new("port add", "add a port at runtime (args: name, type, and the keys of a [[port]] of that type)", PortAdd),
        ["port del"] = new("port del", "remove a port, or a socket endpoint with all its ports (args: name)", PortDel),
        ["port set"] = new("port set", "change a port at runtime without disturbing the others: state up or down, VLAN settings (args: name, state, mode, vlan, allowed, native, tpid)", PortSet),
        ["reload"] = new("reload", "re-read the config file and apply only the difference; a bad file is refused whole and the running config stays", Reload),
        ["stats"] = new("stats", "counters: the MAC table's entries, learns, moves, ages, evictions; frames, bytes, floods and drops by reason, for the switch or one port (args: port)", Stats),
        ["capture start"] = new("capture start", "start a capture that the switch writes to a file (args: file, ports, direction, filter, snaplen, include_drops, count, duration_s, rotate_bytes, keep_files)", CaptureStart),
        ["capture stop"] = new("capture stop", "end a capture, writing its statistics (args: id)", CaptureStop),
        ["capture list"] = new("capture list", "list running captures: output, selection, packets written and dropped", CaptureList),
        [CaptureStreamVerb] = new(CaptureStreamVerb, "stream a capture as pcapng on this connection after the reply line; half-close the connection to end it (args: as capture start, without file)", static (_, _) => throw new ManagementException($"{CaptureStreamVerb} must be the first request on its connection: the connection then carries the pcapng stream")),
        [MonitorVerb] = new(MonitorVerb, "stream events on this connection after the reply line, one JSON object each: MAC learned, moved, aged, evicted; port added, removed, up, down", static (_, _) => throw new ManagementException($"{MonitorVerb} must be the first request on its connection: the connection then carries the events")),
        ["mirror show"] = new("mirror show", "list port mirrors: sources, direction, output, vlan", MirrorShow),
        ["mirror add"] = new("mirror add", "mirror ports to an output port at runtime (args: sources, output, direction: in, out or both, vlan: tag the copies)", MirrorAdd),
        ["mirror del"] = new("mirror del", "remove the mirror whose output is this port (args: output)", MirrorDel),
        ["version"] = new("version", "the switch's version", static (_, _) => new JsonObject { ["version"] = Version }),
    };

    /// <summary>The verb that turns its connection into a pcapng stream (served by <see cref="ManagementServer"/>).</summary>
    public const string CaptureStreamVerb = "capture stream";

    /// <summary>The verb that turns its connection into a stream of events (served by <see cref="ManagementServer"/>).</summary>
    public const string MonitorVerb = "monitor";

    public static string Version { get; } =
        typeof(ManagementVerbs).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";

    private static ManagementReply PortAdd(ManagementRequest request)
    {
        var manager = request.Ports;
        manager.RefuseWithoutRuntimeChanges("port add");
        var errors = new List<string>();
        var port = PortRules.Build(Settings(request.Args), 0, _ => "port add", errors);
        if (port is null)
        {
            throw new ConfigException(errors);
        }

        if (request.Caller.AllowedPorts?.Refusal(port) is { } refusal)
        {
            throw new ManagementException($"permission denied: uid {request.Caller.Uid} may add only the ports runtime_ports allows, and {refusal}");
        }

        manager.Add(port);
        return ManagementReply.Ok(new JsonObject { ["name"] = port.Name, ["type"] = port.Type.Name, ["endpoint"] = port.Endpoint });
    }

    private static JsonObject PortDel(RunningSwitch manager, JsonObject args)
    {
        var name = ManagementArgs.Text(args, "name") ?? throw new ManagementException("port del needs the port's name");
        return manager.Remove(name)
            ? new JsonObject { ["removed"] = name }
            : throw new ManagementException($"no port named '{name}'");
    }

    private static JsonArray VlanShow(RunningSwitch manager, JsonObject args)
    {
        var vlanFilter = ManagementArgs.WholeNumber(args, "vlan");
        var portFilter = ManagementArgs.Text(args, "port");
        var snapshot = manager.Bridge.Snapshot;
        var rows = new JsonArray();
        if (!snapshot.VlanAware)
        {
            return rows;
        }

        var ports = snapshot.Ports.Where(slot => slot is not null).Select(slot => slot!).ToList();
        for (var vid = PortVlan.MinVid; vid <= PortVlan.MaxVid; vid++)
        {
            // A trunk that carries every VLAN (the default) is listed only in VLANs that have another member.
            var members = ports.Where(slot => slot.Vlan.Carries(vid)).ToList();
            if (members.Count == 0 || members.All(slot => slot.Vlan.CarriesAll) || (vlanFilter is not null && vlanFilter != vid))
            {
                continue;
            }

            if (portFilter is not null && members.All(slot => slot.Name != portFilter))
            {
                continue;
            }

            var list = new JsonArray();
            foreach (var slot in members)
            {
                list.Add(new JsonObject { ["port"] = slot.Name, ["tagged"] = slot.Vlan.EgressTagged(vid) });
            }

            rows.Add(new JsonObject { ["vlan"] = vid, ["ports"] = list });
        }

        return rows;
    }

    private static JsonObject CaptureStart(RunningSwitch manager, JsonObject args)
    {
        var options = CaptureRequest.Options(args);
        var session = manager.Captures.Start(options, CaptureRequest.FileOutput(args));
        return CaptureRequest.Describe(session);
    }

    private static JsonObject CaptureStop(RunningSwitch manager, JsonObject args)
    {
        var id = ManagementArgs.WholeNumber(args, "id") ?? throw new ManagementException("capture stop needs the capture's id (see capture list)");
        var session = manager.Captures.Stop(id) ?? throw new ManagementException($"no capture {id} is running");
        var result = CaptureRequest.Describe(session);
        result["summary"] = session.Summary();
        return result;
    }

    private static JsonArray CaptureList(RunningSwitch manager, JsonObject args) =>
        [.. manager.Captures.List().Select(CaptureRequest.Describe)];

    private static JsonArray MirrorShow(RunningSwitch manager, JsonObject args) =>
        [.. manager.Captures.Mirrors().Select(DescribeMirror)];

    private static JsonObject DescribeMirror(MirrorConfig mirror) => new()
    {
        ["sources"] = new JsonArray([.. mirror.Sources.Order(StringComparer.Ordinal).Select(name => JsonValue.Create(name))]),
        ["direction"] = ObserverDirections.Name(mirror.Direction),
        ["output"] = mirror.Output,
        ["vlan"] = mirror.Vlan == 0 ? null : mirror.Vlan,
    };

    private static string ModeName(VlanMode mode) => mode switch
    {
        VlanMode.Trunk => VlanRules.Trunk,
        VlanMode.Dot1qTunnel => VlanRules.Dot1qTunnel,
        _ => VlanRules.Access,
    };

    private static JsonObject VlanSummary(PortVlan vlan) => vlan.Mode == VlanMode.Trunk
        ? new JsonObject
        {
            ["allowed"] = Ranges(vlan.Vlans()),
            ["native"] = vlan.Native == 0 ? null : vlan.Native,
            ["tpid"] = $"0x{vlan.Tpid:x4}",
        }
        : new JsonObject { ["vlan"] = vlan.Vlan };

    /// <summary>"10,20,100-199": the inverse of <see cref="VlanRules.ParseRanges"/>.</summary>
    private static string Ranges(IEnumerable<int> vids)
    {
        var parts = new List<string>();
        int? first = null, last = null;
        foreach (var vid in vids)
        {
            if (last is not null && vid == last + 1)
            {
                last = vid;
                continue;
            }

            if (first is not null)
            {
                parts.Add(first == last ? $"{first}" : $"{first}-{last}");
            }

            first = last = vid;
        }

        if (first is not null)
        {
            parts.Add(first == last ? $"{first}" : $"{first}-{last}");
        }

        return string.Join(',', parts);
    }
}
