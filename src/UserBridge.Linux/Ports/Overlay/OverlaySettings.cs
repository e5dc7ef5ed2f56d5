using System.Net;
using UserBridge.Core.Frames;

namespace UserBridge.Linux.Ports.Overlay;

/// <summary>
/// What an overlay port needs: its encapsulation, the VNI it carries (or a VLAN-to-VNI map, which makes it a trunk of
/// those VLANs), its underlay address and UDP port, the VTEPs it floods to, and the underlay's MTU and IP fields.
/// </summary>
public sealed record OverlaySettings(OverlayProtocol Protocol) : PortSettings
{
    /// <summary>The underlay MTU assumed when none is configured (an Ethernet underlay).</summary>
    public const int DefaultMtu = 1500;

    /// <summary>The one VNI of a port without <see cref="VniMap"/>.</summary>
    public uint Vni { get; init; }

    /// <summary>VLAN ID to VNI, each VNI once: frames of each VLAN travel in its own VNI, untagged.</summary>
    public IReadOnlyDictionary<int, uint>? VniMap { get; init; }

    /// <summary>The network namespace the underlay socket lives in (<c>ip netns</c> name); null: the switch's own.</summary>
    public string? Namespace { get; init; }

    /// <summary>The underlay source address (bound); null: any address of the namespace's family of the remotes.</summary>
    public IPAddress? Local { get; init; }

    /// <summary>The VTEPs that broadcast, multicast and unknown unicast are sent to (head-end replication).</summary>
    public IReadOnlyList<IPAddress> Remotes { get; init; } = [];

    /// <summary>
    /// A multicast group (IPv4 or IPv6) that floods go to besides the remotes, and that the port joins on the interface
    /// of <see cref="Local"/>, as the kernel's <c>vxlan ... group G dev IF</c>; null: none.
    /// </summary>
    public IPAddress? Group { get; init; }

    /// <summary>The UDP port, on this side and at the remotes (4789 for VXLAN, 6081 for Geneve by default).</summary>
    public ushort Port { get; init; }

    /// <summary>The outer packets' TTL (hop limit); null: the system's default.</summary>
    public int? Ttl { get; init; }

    /// <summary>The outer packets' TOS (traffic class); null: 0.</summary>
    public int? Tos { get; init; }

    /// <summary>The underlay MTU: a frame whose encapsulation would not fit is dropped as <c>overlay_too_big</c>.</summary>
    public int Mtu { get; init; } = DefaultMtu;

    /// <summary>Where broadcast, multicast and unknown unicast go: every remote, and the group if there is one.</summary>
    public IReadOnlyList<IPAddress> FloodTo => Group is { } group ? [.. Remotes, group] : Remotes;

    /// <summary>The VNIs as the config gives them: <c>42</c>, or <c>10:1010,20:1020</c>.</summary>
    public string VniText => VniMap is { } map ? string.Join(',', map.Select(pair => $"{pair.Key}:{pair.Value}")) : Vni.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>True when the underlay is IPv6 (from the local address, else the first remote).</summary>
    public bool Ipv6 => (Local ?? Group ?? (Remotes.Count > 0 ? Remotes[0] : null))?.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6;

    /// <summary>The longest Ethernet frame (header included, untagged) that fits the underlay once encapsulated.</summary>
    public int MaxFrameLength => Mtu - OverlayHeader.Overhead(Ipv6) + EthernetFrame.HeaderLength;

    /// <summary>Where the underlay socket is: the namespace, the local address (any) and the UDP port, which two ports cannot share.</summary>
    public override string Endpoint => $"{(Namespace is null ? string.Empty : Namespace + ":")}{Local?.ToString() ?? "*"}:{Port}";

    public override string EndpointKind => "underlay socket";

    public override string? DefaultName => $"{(Protocol == OverlayProtocol.Geneve ? "geneve" : "vxlan")}{Vni}";

    /// <summary>Equal when every setting is (the map and the remotes by content), so that a reload leaves an unchanged port alone.</summary>
    public bool Equals(OverlaySettings? other) =>
        other is not null && Protocol == other.Protocol && Vni == other.Vni && Namespace == other.Namespace && Equals(Local, other.Local) && Equals(Group, other.Group) && Port == other.Port
        && Ttl == other.Ttl && Tos == other.Tos && Mtu == other.Mtu && Remotes.SequenceEqual(other.Remotes)
        && (VniMap is null ? other.VniMap is null : other.VniMap is not null && VniMap.Count == other.VniMap.Count && VniMap.All(pair => other.VniMap.TryGetValue(pair.Key, out var vni) && vni == pair.Value));

    public override int GetHashCode() => HashCode.Combine(Protocol, Vni, Port, Remotes.Count, VniMap?.Count);
}
