namespace UserBridge.Core.Tests.Vlan;

/// <summary>The frames of the ingress × egress matrix, by the tags they carry (see <see cref="VlanMatrix.TagsOf"/>).</summary>
public enum FrameKind
{
    /// <summary>No tag.</summary>
    Untagged,

    /// <summary>An 802.1Q tag with VID 0 and PCP 5.</summary>
    PriorityTagged,

    /// <summary>An 802.1Q tag with VID 10 and PCP 3: a VLAN the trunks allow.</summary>
    TaggedAllowed,

    /// <summary>An 802.1Q tag with VID 30: a VLAN no port allows.</summary>
    TaggedNotAllowed,

    /// <summary>An 802.1ad S-tag with VID 100 (PCP 4, DEI) over an 802.1Q C-tag with VID 10 (PCP 3).</summary>
    DoubleTagged,
}
