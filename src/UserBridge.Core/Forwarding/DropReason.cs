namespace UserBridge.Core.Forwarding;

/// <summary>Why a frame was not forwarded. Each reason has its own per-port counter.</summary>
public enum DropReason
{
    None = 0,

    /// <summary>Shorter than the 14-byte Ethernet header.</summary>
    TooShort,

    /// <summary>The source address is a group address: no station sends from one, so it is never learned.</summary>
    MulticastSource,

    /// <summary>The ingress port is administratively down.</summary>
    PortDown,

    /// <summary>The destination was learned on a port that is down.</summary>
    EgressDown,

    /// <summary>The destination was learned on the ingress port itself: the frame stays on that segment.</summary>
    LocalDestination,

    /// <summary>The frame's virtio-net header describes an offload that cannot be done (impossible GSO fields).</summary>
    BadOffload,

    /// <summary>A frame tagged with a VLAN other than 0 arrived on an access port.</summary>
    VlanTaggedOnAccess,

    /// <summary>A tagged frame of a VLAN that the trunk does not carry.</summary>
    VlanNotAllowed,

    /// <summary>An untagged frame on a trunk without a native VLAN.</summary>
    VlanUntaggedOnTrunk,

    /// <summary>The frame arrived on a mirror's output port, which takes copies only.</summary>
    MirrorOutput,

    /// <summary>The source address is 00:00:00:00:00:00, which no station has.</summary>
    ZeroSource,

    /// <summary>The EtherType says 802.1Q or 802.1ad but the frame ends inside the tag.</summary>
    TruncatedTag,

    /// <summary>Tagged with VID 4095, which 802.1Q reserves.</summary>
    ReservedVlan,

    /// <summary>Sent to the 802.1 link-local group (01:80:C2:00:00:0X) and the switch does not forward those.</summary>
    LinkLocal,

    /// <summary>A spanning-tree BPDU on a port with BPDU guard: the port was taken down.</summary>
    BpduGuard,

    /// <summary>A new source MAC on a port that holds its <c>max_macs</c> (with <c>on_limit</c> drop or shutdown).</summary>
    MacLimit,

    /// <summary>A broadcast over the port's <c>storm.broadcast_pps</c>.</summary>
    StormBroadcast,

    /// <summary>A multicast over the port's <c>storm.multicast_pps</c>.</summary>
    StormMulticast,

    /// <summary>An unknown-unicast flood over the port's <c>storm.unknown_unicast_pps</c>.</summary>
    StormUnknownUnicast,

    /// <summary>Longer than the port's <c>mtu</c> allows and not an offloaded (GSO) frame.</summary>
    TooLong,

    /// <summary>
    /// An overlay (VXLAN, Geneve) packet that does not hold a frame: too short, VXLAN without its I flag, a Geneve
    /// version, protocol type or option length that is wrong, a control packet or a critical option.
    /// </summary>
    OverlayMalformed,

    /// <summary>An overlay packet for a VNI the port does not carry.</summary>
    UnknownVni,

    /// <summary>A frame that, encapsulated, would be larger than the overlay port's underlay <c>mtu</c>; not sent.</summary>
    OverlayTooBig,
}

/// <summary>The stable names of <see cref="DropReason"/> used in JSON, text output and metrics.</summary>
public static class DropReasons
{
    /// <summary>Every reason except <see cref="DropReason.None"/>, in enum order.</summary>
    public static IReadOnlyList<DropReason> All { get; } =
        [DropReason.TooShort, DropReason.MulticastSource, DropReason.PortDown, DropReason.EgressDown, DropReason.LocalDestination, DropReason.BadOffload, DropReason.VlanTaggedOnAccess, DropReason.VlanNotAllowed, DropReason.VlanUntaggedOnTrunk, DropReason.MirrorOutput,
        DropReason.ZeroSource, DropReason.TruncatedTag, DropReason.ReservedVlan, DropReason.LinkLocal, DropReason.BpduGuard, DropReason.MacLimit,
        DropReason.StormBroadcast, DropReason.StormMulticast, DropReason.StormUnknownUnicast, DropReason.TooLong,
        DropReason.OverlayMalformed, DropReason.UnknownVni, DropReason.OverlayTooBig];

    public const int Count = 24;

    public static string Name(DropReason reason) => reason switch
    {
        DropReason.TooShort => "too_short",
        DropReason.MulticastSource => "multicast_source",
        DropReason.PortDown => "port_down",
        DropReason.EgressDown => "egress_down",
        DropReason.LocalDestination => "local_destination",
        DropReason.BadOffload => "bad_offload",
        DropReason.VlanTaggedOnAccess => "vlan_tagged_on_access",
        DropReason.VlanNotAllowed => "vlan_not_allowed",
        DropReason.VlanUntaggedOnTrunk => "vlan_untagged_on_trunk",
        DropReason.MirrorOutput => "mirror_output",
        DropReason.ZeroSource => "zero_source",
        DropReason.TruncatedTag => "truncated_tag",
        DropReason.ReservedVlan => "reserved_vlan",
        DropReason.LinkLocal => "link_local",
        DropReason.BpduGuard => "bpdu_guard",
        DropReason.MacLimit => "mac_limit",
        DropReason.StormBroadcast => "storm_broadcast",
        DropReason.StormMulticast => "storm_multicast",
        DropReason.StormUnknownUnicast => "storm_unknown_unicast",
        DropReason.TooLong => "too_long",
        DropReason.OverlayMalformed => "overlay_malformed",
        DropReason.UnknownVni => "unknown_vni",
        DropReason.OverlayTooBig => "overlay_too_big",
        _ => "none",
    };
}
