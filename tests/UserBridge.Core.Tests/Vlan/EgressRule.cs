namespace UserBridge.Core.Tests.Vlan;

/// <summary>
/// How an egress port sends: only frames of the VLANs it <see cref="Carries"/>; with a service tag of
/// <see cref="TaggingTpid"/> (none for access and dot1q-tunnel ports), except for its <see cref="NativeVlan"/>.
/// </summary>
internal sealed record EgressRule(IReadOnlySet<int> Carries, ushort? TaggingTpid, int? NativeVlan = null)
{
    /// <summary>The TPID of the service tag a frame of <paramref name="vlan"/> leaves with, or null when it leaves without.</summary>
    public ushort? TpidFor(int vlan) => vlan == NativeVlan ? null : TaggingTpid;
}
