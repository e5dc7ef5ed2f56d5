using System.Globalization;
using System.Net;
using System.Net.Sockets;
using UserBridge.Core.Ports;

namespace UserBridge.Linux.Ports.Overlay;

/// <summary>
/// <c>type = "vxlan"</c> and <c>type = "geneve"</c>: frames carried over UDP to other VTEPs. Reads <c>vni</c> or
/// <c>vni_map</c>, <c>local</c>, <c>remotes</c>, <c>group</c>, <c>dstport</c>, <c>ttl</c>, <c>tos</c>, <c>netns</c> and
/// the underlay <c>mtu</c>, each checked with an error that names the fix.
/// </summary>
public sealed class OverlayPortType : IPortType
{
    private static readonly string[] VlanKeys = ["vlan", "allowed", "native", "tpid"];

    private readonly OverlayProtocol _protocol;

    private OverlayPortType(OverlayProtocol protocol) => _protocol = protocol;

    public static OverlayPortType Vxlan { get; } = new(OverlayProtocol.Vxlan);

    public static OverlayPortType Geneve { get; } = new(OverlayProtocol.Geneve);

    public string Name => _protocol == OverlayProtocol.Geneve ? "geneve" : "vxlan";

    public string Description => _protocol == OverlayProtocol.Geneve
        ? "Geneve (RFC 8926) over UDP to other VTEPs: head-end replication or a multicast underlay"
        : "VXLAN (RFC 7348) over UDP to other VTEPs: head-end replication or a multicast underlay";

    public IReadOnlyList<PortKey> Keys { get; } =
    [
        new("vni", $"the VNI, 0 to {OverlayHeader.MaxVni} (or vni_map)", PortKeyKind.Number, 0, OverlayHeader.MaxVni),
        new("vni_map", "VLANs to VNIs, \"10:1010,20:1020\": the port is a trunk of the mapped VLANs"),
        new("local", "the underlay address to bind (needed with group)"),
        new("remotes", "the other VTEPs' underlay addresses, [\"198.18.0.2\", ...]", PortKeyKind.List),
        new("group", "a multicast underlay group, joined on local's interface"),
        new("dstport", "the UDP port, 1 to 65535 (default 4789 for VXLAN, 6081 for Geneve)", PortKeyKind.Number, 1, ushort.MaxValue),
        new("ttl", "the outer TTL, 1 to 255 (default the system's)", PortKeyKind.Number, 1, 255),
        new("tos", "the outer TOS, 0 to 255 (default 0)", PortKeyKind.Number, 0, 255),
        new("netns", "the network namespace the underlay socket lives in (ip netns name)"),
        new("mtu", $"the underlay MTU (default {OverlaySettings.DefaultMtu}): frames whose encapsulation would not fit are dropped as overlay_too_big", PortKeyKind.Number, 68, ushort.MaxValue),
    ];

    public bool VlanChangesInPlace => true;

    public PortSettings? Read(PortSettingsReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var before = reader.ErrorCount;
        var (vni, map) = Vnis(_protocol, reader);
        var (local, remotes, group, ipv6) = Underlay(reader, before);
        var port = (ushort)reader.Number("dstport", 1, ushort.MaxValue, absent: OverlayHeader.DefaultPort(_protocol));
        int? ttl = reader.Has("ttl") ? reader.Number("ttl", 1, 255, absent: 1) : null;
        int? tos = reader.Has("tos") ? reader.Number("tos", 0, 255, absent: 0) : null;
        var ns = reader.Text("netns");
        if (ns is not null && !PortSettingsReader.IsValidName(ns))
        {
            reader.Error("netns", $"netns \"{ns}\" is not a namespace name; use {PortSettingsReader.NameHelp} (as ip netns add NAME takes)");
        }

        var mtu = reader.Number("mtu", OverlayHeader.Overhead(ipv6) + 68, ushort.MaxValue, absent: OverlaySettings.DefaultMtu);
        if (reader.ErrorCount > before)
        {
            return null;
        }

        return new OverlaySettings(_protocol)
        {
            Vni = vni,
            VniMap = map,
            Namespace = ns,
            Local = local,
            Remotes = remotes,
            Group = group,
            Port = port,
            Ttl = ttl,
            Tos = tos,
            Mtu = mtu,
        };
    }

    /// <summary>A trunk of the mapped VLANs for a port with <c>vni_map</c>, else what its VLAN keys say.</summary>
    public PortVlan? Vlan(PortSettings settings, PortVlan? configured) =>
        ((OverlaySettings)settings).VniMap is { } map ? PortVlan.Trunk(map.Keys) : configured;

    public IDisposable Open(PortSettings settings, PortOpening opening)
    {
        ArgumentNullException.ThrowIfNull(opening);
        var overlay = (OverlaySettings)settings;
        var port = OverlayPort.Open(opening.Name, overlay);
        var joined = opening.Join(port);
        opening.Announce($"port {port.Name} up: {port.Type} vni {overlay.VniText} on {port.Interface} to {string.Join(", ", overlay.FloodTo)} (frames up to {overlay.MaxFrameLength} bytes fit its mtu {overlay.Mtu})");
        return joined;
    }

    /// <summary>Root's only: an overlay port opens a UDP port to the network and may enter another namespace.</summary>
    public IReadOnlyList<PortAccess> Access(PortSettings settings) => [];

    /// <summary><c>vni</c> or <c>vni_map</c>, one of them, and no VLAN keys beside a map (it makes the port a trunk).</summary>
    private static (uint Vni, Dictionary<int, uint>? Map) Vnis(OverlayProtocol protocol, PortSettingsReader reader)
    {
        var before = reader.ErrorCount;
        var map = reader.Raw("vni_map") is { } mapSetting ? VniMap(mapSetting, reader) : null;
        uint vni = 0;
        if (reader.Raw("vni") is { } vniSetting)
        {
            vni = (uint)reader.Number(vniSetting, 0, (int)OverlayHeader.MaxVni);
            if (map is not null)
            {
                reader.Error("vni", $"vni and vni_map do not go together; keep vni (one VNI, the port is an access or transparent port) or vni_map (VLANs to VNIs, the port is a trunk)");
            }
        }
        else if (map is null && reader.ErrorCount == before)
        {
            reader.Error(null, $"a {(protocol == OverlayProtocol.Geneve ? "geneve" : "vxlan")} port needs vni = N (0 to {OverlayHeader.MaxVni}) or vni_map = \"VLAN:VNI,...\"");
        }

        if (map is not null && VlanKeys.FirstOrDefault(reader.Has) is { } vlanKey)
        {
            reader.Error(vlanKey, $"{vlanKey} does not go with vni_map, which makes the port a trunk of the mapped VLANs");
        }

        return (vni, map);
    }

    /// <summary>
    /// <c>local</c>, <c>remotes</c> and <c>group</c>: somewhere to send floods, a local address for a group, one address
    /// family (and whether it is IPv6). <paramref name="before"/>: the error count when the port's checks began (no "nowhere to send" on top of
    /// earlier errors).
    /// </summary>
    private static (IPAddress? Local, List<IPAddress> Remotes, IPAddress? Group, bool Ipv6) Underlay(PortSettingsReader reader, int before)
    {
        var local = reader.Raw("local") is { } localSetting ? Address(localSetting, reader, multicast: false) : null;
        var remotes = reader.Raw("remotes") is { } remotesSetting ? Remotes(remotesSetting, reader) : [];
        var group = reader.Raw("group") is { } groupSetting ? Address(groupSetting, reader, multicast: true) : null;
        if (remotes.Count == 0 && group is null && reader.ErrorCount == before)
        {
            reader.Error(null, $"the port has no VTEP to send to; add remotes = [\"198.18.0.2\"] (the other hosts' underlay addresses) or group = \"239.1.1.1\" (a multicast underlay)");
        }

        if (group is not null && local is null)
        {
            reader.Error("group", $"group needs local = \"ADDRESS\": the underlay address whose interface joins the group");
        }

        var family = (local ?? group ?? (remotes.Count > 0 ? remotes[0] : null))?.AddressFamily;
        if (remotes.Any(remote => remote.AddressFamily != family) || (group is not null && group.AddressFamily != family))
        {
            reader.Error(reader.Has("remotes") ? "remotes" : "group", $"local, remotes and group mix IPv4 and IPv6; an overlay port's underlay is one or the other");
        }

        return (local, remotes, group, family == AddressFamily.InterNetworkV6);
    }

    /// <summary><c>vni_map = "10:1010,20:1020"</c>: each VLAN and each VNI once.</summary>
    private static Dictionary<int, uint>? VniMap(PortSetting setting, PortSettingsReader reader)
    {
        var text = reader.Text(setting);
        if (text is null)
        {
            return null;
        }

        var map = new Dictionary<int, uint>();
        foreach (var pair in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = pair.Split(':');
            if (parts.Length != 2
                || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var vlan) || vlan < PortVlan.MinVid || vlan > PortVlan.MaxVid
                || !uint.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var vni) || vni > OverlayHeader.MaxVni)
            {
                reader.ErrorAt(setting.Line, $"vni_map entry \"{pair}\" is not VLAN:VNI (VLAN {PortVlan.MinVid} to {PortVlan.MaxVid}, VNI 0 to {OverlayHeader.MaxVni}); write e.g. vni_map = \"10:1010,20:1020\"");
                return null;
            }

            if (map.ContainsKey(vlan) || map.ContainsValue(vni))
            {
                reader.ErrorAt(setting.Line, $"vni_map maps VLAN {vlan} or VNI {vni} twice; each VLAN travels in its own VNI");
                return null;
            }

            map[vlan] = vni;
        }

        if (map.Count == 0)
        {
            reader.ErrorAt(setting.Line, $"vni_map is empty; write e.g. vni_map = \"10:1010,20:1020\"");
            return null;
        }

        return map;
    }

    private static List<IPAddress> Remotes(PortSetting setting, PortSettingsReader reader)
    {
        var items = setting.Value switch
        {
            object[] array => array.Select(item => item as string),
            string text => text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            _ => [null],
        };
        var remotes = new List<IPAddress>();
        foreach (var item in items)
        {
            if (item is null)
            {
                reader.ErrorAt(setting.Line, $"remotes must be addresses in double quotes; write e.g. remotes = [\"198.18.0.2\", \"198.18.0.3\"]");
                continue;
            }

            if (IPAddress.TryParse(item, out var address) && IsUnicast(address))
            {
                remotes.Add(address);
                continue;
            }

            reader.ErrorAt(setting.Line, $"remotes entry \"{item}\" is not a unicast IPv4 or IPv6 address; write e.g. remotes = [\"198.18.0.2\", \"198.18.0.3\"]");
        }

        return remotes;
    }

    /// <summary><c>local</c> (a unicast address of this host) or <c>group</c> (a multicast group).</summary>
    private static IPAddress? Address(PortSetting setting, PortSettingsReader reader, bool multicast)
    {
        var text = reader.Text(setting);
        if (text is not null && IPAddress.TryParse(text, out var address) && (multicast ? IsMulticast(address) : IsUnicast(address)))
        {
            return address;
        }

        reader.ErrorAt(setting.Line, multicast
            ? $"group = \"{text}\" is not a multicast address; write e.g. group = \"239.1.1.1\" or \"ff05::4789\""
            : $"{setting.Key} = \"{text}\" is not a unicast IPv4 or IPv6 address of this host; write e.g. local = \"198.18.0.1\"");
        return null;
    }

    private static bool IsUnicast(IPAddress address) =>
        !address.Equals(IPAddress.Any) && !address.Equals(IPAddress.IPv6Any) && !address.Equals(IPAddress.Broadcast) && !IsMulticast(address);

    private static bool IsMulticast(IPAddress address) =>
        address.IsIPv6Multicast || (address.AddressFamily == AddressFamily.InterNetwork && address.GetAddressBytes()[0] is >= 224 and <= 239);
}
