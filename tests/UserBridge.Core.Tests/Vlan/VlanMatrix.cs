using static UserBridge.Core.Tests.Vlan.FrameKind;
using static UserBridge.Core.Tests.Vlan.IngressOutcome;
using UserBridge.Core.Forwarding;
using UserBridge.Core.Ports;

namespace UserBridge.Core.Tests.Vlan;

/// <summary>
/// The expected outcome of each cell of the ingress × egress matrix, from the rules of issue 4 written out as
/// tables rather than derived from the switch's code: <see cref="Ingress"/> says what each ingress port makes of
/// each frame kind, <see cref="EgressRuleOf"/> what each egress port carries and how it tags, and
/// <see cref="Expected"/> puts the two together.
/// </summary>
/// <remarks>
/// A port recognises tags of its own TPID only (0x8100 for access ports and default trunks), as a Linux bridge
/// with <c>vlan_protocol</c> set does: to an 802.1Q port an 802.1ad-tagged frame, and to a 0x88a8 trunk an
/// 802.1Q-tagged one, is an untagged frame whose tags are payload. A tag the switch pushes has the PCP/DEI of the
/// service tag the frame came with, or 0 when it came without one (the issue keeps priority bits only when a tag
/// is kept or rewritten).
/// </remarks>
internal static class VlanMatrix
{
    public const int PayloadLength = 46;

    /// <summary>The tags each frame kind carries, outermost first.</summary>
    public static Tag[] TagsOf(FrameKind frame) => frame switch
    {
        Untagged => [],
        PriorityTagged => [Tag.Dot1q(0, pcp: 5)],
        TaggedAllowed => [Tag.Dot1q(10, pcp: 3)],
        TaggedNotAllowed => [Tag.Dot1q(30)],
        DoubleTagged => [Tag.Dot1ad(100, pcp: 4, dei: true), Tag.Dot1q(10, pcp: 3)],
        _ => throw new ArgumentOutOfRangeException(nameof(frame)),
    };

    public static byte[] Build(FrameKind frame, int payloadLength = PayloadLength) => TaggedFrames.Broadcast(TagsOf(frame), payloadLength);

    public static PortVlan SettingsOf(IngressPortKind port) => port switch
    {
        IngressPortKind.Access10 => PortVlan.Access(10),
        IngressPortKind.Trunk10And20 => PortVlan.Trunk([10, 20]),
        IngressPortKind.Trunk1And10And20Native1 => PortVlan.Trunk([1, 10, 20], native: 1),
        IngressPortKind.Dot1adTrunk100 => PortVlan.Trunk([100], tpid: Tag.Dot1adTpid),
        IngressPortKind.Tunnel100 => PortVlan.Dot1qTunnel(100),
        _ => throw new ArgumentOutOfRangeException(nameof(port)),
    };

    public static PortVlan SettingsOf(EgressPortKind port) => port switch
    {
        EgressPortKind.Access10 => PortVlan.Access(10),
        EgressPortKind.Access100 => PortVlan.Access(100),
        EgressPortKind.Trunk10And20 => PortVlan.Trunk([10, 20]),
        EgressPortKind.Trunk10And20Native10 => PortVlan.Trunk([10, 20], native: 10),
        EgressPortKind.Tunnel100 => PortVlan.Dot1qTunnel(100),
        EgressPortKind.Dot1adTrunk100 => PortVlan.Trunk([100], tpid: Tag.Dot1adTpid),
        _ => throw new ArgumentOutOfRangeException(nameof(port)),
    };

    /// <summary>The ingress table: one row per frame kind and ingress port.</summary>
    public static IngressOutcome Ingress(FrameKind frame, IngressPortKind port) => (port, frame) switch
    {
        // Access, VLAN 10: untagged and priority-tagged frames enter VLAN 10, other 802.1Q-tagged ones are dropped
        // (even VID 10). The 802.1ad frame is untagged to this 802.1Q port.
        (IngressPortKind.Access10, Untagged) => Enters(10),
        (IngressPortKind.Access10, PriorityTagged) => EntersByItsTag(10),
        (IngressPortKind.Access10, TaggedAllowed) => Dropped(DropReason.VlanTaggedOnAccess),
        (IngressPortKind.Access10, TaggedNotAllowed) => Dropped(DropReason.VlanTaggedOnAccess),
        (IngressPortKind.Access10, DoubleTagged) => Enters(10),

        // Trunk allowing 10 and 20, no native VLAN: VID 10 enters VLAN 10, VID 30 is not allowed; untagged frames
        // (a priority tag carries no VLAN, an 802.1ad tag is not this trunk's) have nowhere to go.
        (IngressPortKind.Trunk10And20, Untagged) => Dropped(DropReason.VlanUntaggedOnTrunk),
        (IngressPortKind.Trunk10And20, PriorityTagged) => Dropped(DropReason.VlanUntaggedOnTrunk),
        (IngressPortKind.Trunk10And20, TaggedAllowed) => EntersByItsTag(10),
        (IngressPortKind.Trunk10And20, TaggedNotAllowed) => Dropped(DropReason.VlanNotAllowed),
        (IngressPortKind.Trunk10And20, DoubleTagged) => Dropped(DropReason.VlanUntaggedOnTrunk),

        // Trunk allowing 1, 10 and 20, native 1: as above, but untagged frames enter the native VLAN 1.
        (IngressPortKind.Trunk1And10And20Native1, Untagged) => Enters(1),
        (IngressPortKind.Trunk1And10And20Native1, PriorityTagged) => EntersByItsTag(1),
        (IngressPortKind.Trunk1And10And20Native1, TaggedAllowed) => EntersByItsTag(10),
        (IngressPortKind.Trunk1And10And20Native1, TaggedNotAllowed) => Dropped(DropReason.VlanNotAllowed),
        (IngressPortKind.Trunk1And10And20Native1, DoubleTagged) => Enters(1),

        // 802.1ad trunk allowing 100: only the 0x88a8 S-tag is a tag here; 802.1Q-tagged frames are untagged to it
        // and it has no native VLAN.
        (IngressPortKind.Dot1adTrunk100, Untagged) => Dropped(DropReason.VlanUntaggedOnTrunk),
        (IngressPortKind.Dot1adTrunk100, PriorityTagged) => Dropped(DropReason.VlanUntaggedOnTrunk),
        (IngressPortKind.Dot1adTrunk100, TaggedAllowed) => Dropped(DropReason.VlanUntaggedOnTrunk),
        (IngressPortKind.Dot1adTrunk100, TaggedNotAllowed) => Dropped(DropReason.VlanUntaggedOnTrunk),
        (IngressPortKind.Dot1adTrunk100, DoubleTagged) => EntersByItsTag(100),

        // dot1q-tunnel, S-VLAN 100: every frame, tagged or not, enters VLAN 100 with all its tags kept as payload.
        (IngressPortKind.Tunnel100, Untagged) => Enters(100),
        (IngressPortKind.Tunnel100, PriorityTagged) => Enters(100),
        (IngressPortKind.Tunnel100, TaggedAllowed) => Enters(100),
        (IngressPortKind.Tunnel100, TaggedNotAllowed) => Enters(100),
        (IngressPortKind.Tunnel100, DoubleTagged) => Enters(100),

        _ => throw new ArgumentOutOfRangeException(nameof(port)),
    };

    /// <summary>The egress table: access and dot1q-tunnel ports send untagged, trunks tagged but for the native VLAN.</summary>
    public static EgressRule EgressRuleOf(EgressPortKind port) => port switch
    {
        EgressPortKind.Access10 => new(new HashSet<int> { 10 }, TaggingTpid: null),
        EgressPortKind.Access100 => new(new HashSet<int> { 100 }, TaggingTpid: null),
        EgressPortKind.Trunk10And20 => new(new HashSet<int> { 10, 20 }, Tag.Dot1qTpid),
        EgressPortKind.Trunk10And20Native10 => new(new HashSet<int> { 10, 20 }, Tag.Dot1qTpid, NativeVlan: 10),
        EgressPortKind.Tunnel100 => new(new HashSet<int> { 100 }, TaggingTpid: null),
        EgressPortKind.Dot1adTrunk100 => new(new HashSet<int> { 100 }, Tag.Dot1adTpid),
        _ => throw new ArgumentOutOfRangeException(nameof(port)),
    };

    /// <summary>
    /// What arrives on <paramref name="egress"/> when a broadcast of kind <paramref name="frame"/> enters by
    /// <paramref name="ingress"/>: the service tag (if any) comes off, the tags that are payload stay, and a trunk
    /// puts on a tag of its TPID and the frame's VLAN with the service tag's PCP and DEI.
    /// </summary>
    public static CellOutcome Expected(FrameKind frame, IngressPortKind ingress, EgressPortKind egress, int payloadLength = PayloadLength)
    {
        var entered = Ingress(frame, ingress);
        if (entered.Drop != DropReason.None)
        {
            return CellOutcome.Dropped(entered.Drop);
        }

        var rule = EgressRuleOf(egress);
        if (!rule.Carries.Contains(entered.Vlan))
        {
            return CellOutcome.NothingArrives;
        }

        var tags = TagsOf(frame);
        var payloadTags = entered.OuterTagIsServiceTag ? tags[1..] : tags;
        var priority = entered.OuterTagIsServiceTag ? tags[0] : default;
        Tag[] leaving = rule.TpidFor(entered.Vlan) is { } tpid
            ? [new Tag(tpid, entered.Vlan, priority.Pcp, priority.Dei), .. payloadTags]
            : payloadTags;
        return CellOutcome.Arrives(TaggedFrames.Broadcast(leaving, payloadLength));
    }
}
