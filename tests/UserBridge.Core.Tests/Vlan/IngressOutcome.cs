using UserBridge.Core.Forwarding;

namespace UserBridge.Core.Tests.Vlan;

/// <summary>
/// What an ingress port makes of a frame: dropped for <see cref="Drop"/>, or entered into <see cref="Vlan"/>. When
/// <see cref="OuterTagIsServiceTag"/>, the frame's outer tag is the port's own (its TPID, VLAN or priority): it is
/// the tag egress ports strip or rewrite, and its PCP/DEI travel with the frame. Otherwise every tag the frame
/// has is payload to the switch and leaves as it came.
/// </summary>
internal readonly record struct IngressOutcome(DropReason Drop, int Vlan, bool OuterTagIsServiceTag)
{
    public static IngressOutcome Dropped(DropReason reason) => new(reason, 0, false);

    /// <summary>Enters <paramref name="vlan"/> with no service tag (untagged, or tags that are payload).</summary>
    public static IngressOutcome Enters(int vlan) => new(DropReason.None, vlan, false);

    /// <summary>Enters <paramref name="vlan"/>; the outer tag is the service tag.</summary>
    public static IngressOutcome EntersByItsTag(int vlan) => new(DropReason.None, vlan, true);
}
