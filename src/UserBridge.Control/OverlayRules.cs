using System.Globalization;
using System.Net;
using System.Net.Sockets;
using UserBridge.Core;
using UserBridge.Core.Overlay;
using UserBridge.Linux;

namespace UserBridge.Control;

/// <summary>
/// The settings of a <c>vxlan</c> or <c>geneve</c> port: <c>vni</c> or <c>vni_map</c>, <c>local</c>, <c>remotes</c>,
/// <c>dstport</c>, <c>ttl</c>, <c>tos</c> and the underlay <c>mtu</c>, each checked with an error that names the fix.
/// </summary>
internal static class OverlayRules
{
    public static readonly string[] Keys = ["vni", "vni_map", "local", "remotes", "group", "dstport", "ttl", "tos", "netns"];

    public static OverlaySettings? Build(OverlayProtocol protocol, Dictionary<string, PortSetting> values, int line, Func<int, string> where, List<string> errors)
    {
        var before = errors.Count;
        var (vni, map) = Vnis(protocol, values, line, where, errors);
        var (local, remotes, group, ipv6) = Underlay(values, line, before, where, errors);
        var port = values.TryGetValue("dstport", out var portSetting) ? (ushort)PortRules.Integer(portSetting, 1, ushort.MaxValue, where, errors) : OverlayHeader.DefaultPort(protocol);
        int? ttl = values.TryGetValue("ttl", out var ttlSetting) ? PortRules.Integer(ttlSetting, 1, 255, where, errors) : null;
        int? tos = values.TryGetValue("tos", out var tosSetting) ? PortRules.Integer(tosSetting, 0, 255, where, errors) : null;
        var ns = PortRules.Optional(values, "netns", where, errors);
        if (ns is not null && !ConfigValues.IsValidName(ns))
        {
            errors.Add($"{where(values["netns"].Line)}: netns \"{ns}\" is not a namespace name; use {ConfigValues.NameHelp} (as ip netns add NAME takes)");
        }

        var minimumMtu = OverlayHeader.Overhead(ipv6) + 68;
        var mtu = values.TryGetValue("mtu", out var mtuSetting) ? PortRules.Integer(mtuSetting, minimumMtu, ushort.MaxValue, where, errors) : OverlaySettings.DefaultMtu;
        if (errors.Count > before)
        {
            return null;
        }

        return new OverlaySettings(protocol)
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

    /// <summary><c>vni</c> or <c>vni_map</c>, one of them, and no VLAN keys beside a map (it makes the port a trunk).</summary>
    private static (uint Vni, Dictionary<int, uint>? Map) Vnis(OverlayProtocol protocol, Dictionary<string, PortSetting> values, int line, Func<int, string> where, List<string> errors)
    {
        var before = errors.Count;
        var map = values.TryGetValue("vni_map", out var mapSetting) ? VniMap(mapSetting, where, errors) : null;
        uint vni = 0;
        if (values.TryGetValue("vni", out var vniSetting))
        {
            vni = (uint)PortRules.Integer(vniSetting, 0, (int)OverlayHeader.MaxVni, where, errors);
            if (map is not null)
            {
                errors.Add($"{where(vniSetting.Line)}: vni and vni_map do not go together; keep vni (one VNI, the port is an access or transparent port) or vni_map (VLANs to VNIs, the port is a trunk)");
            }
        }
        else if (map is null && errors.Count == before)
        {
            errors.Add($"{where(line)}: a {(protocol == OverlayProtocol.Geneve ? "geneve" : "vxlan")} port needs vni = N (0 to {OverlayHeader.MaxVni}) or vni_map = \"VLAN:VNI,...\"");
        }

        if (map is not null && values.Keys.FirstOrDefault(key => key is "vlan" or "allowed" or "native" or "tpid") is { } vlanKey)
        {
            errors.Add($"{where(values[vlanKey].Line)}: {vlanKey} does not go with vni_map, which makes the port a trunk of the mapped VLANs");
        }

        return (vni, map);
    }

    /// <summary>
    /// <c>local</c>, <c>remotes</c> and <c>group</c>: somewhere to send floods, a local address for a group, one address
    /// family (and whether it is IPv6). <paramref name="before"/>: the error count when the port's checks began (no "nowhere to send" on top of
    /// earlier errors).
    /// </summary>
    private static (IPAddress? Local, List<IPAddress> Remotes, IPAddress? Group, bool Ipv6) Underlay(Dictionary<string, PortSetting> values, int line, int before, Func<int, string> where, List<string> errors)
    {
        var local = values.TryGetValue("local", out var localSetting) ? Address(localSetting, where, errors) : null;
        var remotes = values.TryGetValue("remotes", out var remotesSetting) ? Remotes(remotesSetting, where, errors) : [];
        var group = values.TryGetValue("group", out var groupSetting) ? Group(groupSetting, where, errors) : null;
        if (remotes.Count == 0 && group is null && errors.Count == before)
        {
            errors.Add($"{where(line)}: the port has no VTEP to send to; add remotes = [\"198.18.0.2\"] (the other hosts' underlay addresses) or group = \"239.1.1.1\" (a multicast underlay)");
        }

        if (group is not null && local is null)
        {
            errors.Add($"{where(groupSetting.Line)}: group needs local = \"ADDRESS\": the underlay address whose interface joins the group");
        }

        var family = (local ?? group ?? (remotes.Count > 0 ? remotes[0] : null))?.AddressFamily;
        if (remotes.Any(remote => remote.AddressFamily != family) || (group is not null && group.AddressFamily != family))
        {
            errors.Add($"{where((remotesSetting.Line > 0 ? remotesSetting : groupSetting).Line)}: local, remotes and group mix IPv4 and IPv6; an overlay port's underlay is one or the other");
        }

        return (local, remotes, group, family == AddressFamily.InterNetworkV6);
    }

    /// <summary>A port's VLAN settings: a trunk of the mapped VLANs for an overlay port with <c>vni_map</c>, else what its VLAN keys say.</summary>
    public static PortVlan? Vlan(OverlaySettings? settings, PortVlan? configured) =>
        settings?.VniMap is { } map ? PortVlan.Trunk(map.Keys) : configured;

    /// <summary><c>vni_map = "10:1010,20:1020"</c>: each VLAN and each VNI once.</summary>
    private static Dictionary<int, uint>? VniMap(PortSetting setting, Func<int, string> where, List<string> errors)
    {
        var text = PortRules.String(setting, where, errors);
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
                errors.Add($"{where(setting.Line)}: vni_map entry \"{pair}\" is not VLAN:VNI (VLAN {PortVlan.MinVid} to {PortVlan.MaxVid}, VNI 0 to {OverlayHeader.MaxVni}); write e.g. vni_map = \"10:1010,20:1020\"");
                return null;
            }

            if (map.ContainsKey(vlan) || map.ContainsValue(vni))
            {
                errors.Add($"{where(setting.Line)}: vni_map maps VLAN {vlan} or VNI {vni} twice; each VLAN travels in its own VNI");
                return null;
            }

            map[vlan] = vni;
        }

        if (map.Count == 0)
        {
            errors.Add($"{where(setting.Line)}: vni_map is empty; write e.g. vni_map = \"10:1010,20:1020\"");
            return null;
        }

        return map;
    }

    private static List<IPAddress> Remotes(PortSetting setting, Func<int, string> where, List<string> errors)
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
                errors.Add($"{where(setting.Line)}: remotes must be addresses in double quotes; write e.g. remotes = [\"198.18.0.2\", \"198.18.0.3\"]");
                continue;
            }

            if (IPAddress.TryParse(item, out var address) && IsUnicast(address))
            {
                remotes.Add(address);
                continue;
            }

            errors.Add($"{where(setting.Line)}: remotes entry \"{item}\" is not a unicast IPv4 or IPv6 address; write e.g. remotes = [\"198.18.0.2\", \"198.18.0.3\"]");
        }

        return remotes;
    }

    private static IPAddress? Group(PortSetting setting, Func<int, string> where, List<string> errors)
    {
        var text = PortRules.String(setting, where, errors);
        if (text is not null && IPAddress.TryParse(text, out var address) && IsMulticast(address))
        {
            return address;
        }

        errors.Add($"{where(setting.Line)}: group = \"{text}\" is not a multicast address; write e.g. group = \"239.1.1.1\" or \"ff05::4789\"");
        return null;
    }

    private static IPAddress? Address(PortSetting setting, Func<int, string> where, List<string> errors)
    {
        var text = PortRules.String(setting, where, errors);
        if (text is not null && IPAddress.TryParse(text, out var address) && IsUnicast(address))
        {
            return address;
        }

        errors.Add($"{where(setting.Line)}: {setting.Key} = \"{text}\" is not a unicast IPv4 or IPv6 address of this host; write e.g. local = \"198.18.0.1\"");
        return null;
    }

    private static bool IsUnicast(IPAddress address) =>
        !address.Equals(IPAddress.Any) && !address.Equals(IPAddress.IPv6Any) && !address.Equals(IPAddress.Broadcast) && !IsMulticast(address);

    private static bool IsMulticast(IPAddress address) =>
        address.IsIPv6Multicast || (address.AddressFamily == AddressFamily.InterNetwork && address.GetAddressBytes()[0] is >= 224 and <= 239);
}
