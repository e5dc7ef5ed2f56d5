using UserBridge.Core.Frames;

namespace UserBridge.Core.Ports;

/// <summary>How a port treats 802.1Q tags when the switch is VLAN-aware.</summary>
public enum VlanMode
{
    /// <summary>Untagged and priority-tagged frames enter <see cref="PortVlan.Vlan"/>; egress is untagged.</summary>
    Access,

    /// <summary>Tagged frames of allowed VLANs; untagged ones enter the native VLAN; egress tagged but for the native VLAN.</summary>
    Trunk,

    /// <summary>QinQ customer port: every frame, tagged or not, enters the S-VLAN with its customer tag kept.</summary>
    Dot1qTunnel,
}

/// <summary>
/// A port's VLAN settings, immutable (part of the snapshot). The allowed VLANs are a 4096-bit set so that the
/// ingress check is one load and one bit test.
/// </summary>
public sealed class PortVlan
{
    public const int MinVid = 1;
    public const int MaxVid = 4094;
    public const ushort TpidDot1q = EthernetFrame.EtherTypeVlan;
    public const ushort TpidDot1ad = EthernetFrame.EtherTypeQinQ;

    private readonly ulong[] _allowed;

    private PortVlan(VlanMode mode, int vlan, ulong[] allowed, int native, ushort tpid)
    {
        Mode = mode;
        Vlan = vlan;
        _allowed = allowed;

        // Counted once: vlan show asks for every VID of every port, and a full trunk has 4094 of them.
        CarriesAll = mode == VlanMode.Trunk && allowed.Sum(word => System.Numerics.BitOperations.PopCount(word)) == MaxVid;
        Native = native;
        Tpid = tpid;
    }

    /// <summary>The default: an access port in VLAN 1.</summary>
    public static PortVlan Default { get; } = Access(1);

    public VlanMode Mode { get; }

    /// <summary>The access VLAN, or the S-VLAN of a dot1q-tunnel port.</summary>
    public int Vlan { get; }

    /// <summary>The native VLAN of a trunk, or 0 when untagged frames are dropped.</summary>
    public int Native { get; }

    /// <summary>The TPID a trunk tags with and recognises (0x8100, or 0x88a8 for 802.1ad).</summary>
    public ushort Tpid { get; }

    public static PortVlan Access(int vlan) => new(VlanMode.Access, CheckVid(vlan), Bits([vlan]), 0, TpidDot1q);

    public static PortVlan Dot1qTunnel(int serviceVlan) => new(VlanMode.Dot1qTunnel, CheckVid(serviceVlan), Bits([serviceVlan]), 0, TpidDot1q);

    public static PortVlan Trunk(IEnumerable<int> allowed, int native = 0, ushort tpid = TpidDot1q)
    {
        ArgumentNullException.ThrowIfNull(allowed);
        var bits = Bits(allowed.Select(CheckVid));
        if (native != 0 && (CheckVid(native) == 0 || (bits[native >> 6] & (1UL << native)) == 0))
        {
            throw new ArgumentException($"native VLAN {native} is not in the trunk's allowed VLANs");
        }

        return new PortVlan(VlanMode.Trunk, 0, bits, native, tpid);
    }

    /// <summary>Whether frames of <paramref name="vlan"/> may enter or leave this port.</summary>
    public bool Carries(int vlan) => (uint)vlan < 4096 && (_allowed[vlan >> 6] & (1UL << vlan)) != 0;

    /// <summary>True when frames of <paramref name="vlan"/> leave this port with a tag.</summary>
    public bool EgressTagged(int vlan) => Mode == VlanMode.Trunk && vlan != Native;

    /// <summary>The VLANs this port carries, in order.</summary>
    public IEnumerable<int> Vlans()
    {
        for (var vid = MinVid; vid <= MaxVid; vid++)
        {
            if (Carries(vid))
            {
                yield return vid;
            }
        }
    }

    /// <summary>True for a trunk that carries every VLAN (the default allowed list).</summary>
    public bool CarriesAll { get; }

    private static int CheckVid(int vid) => vid is >= MinVid and <= MaxVid
        ? vid
        : throw new ArgumentOutOfRangeException(nameof(vid), vid, $"a VLAN ID is {MinVid} to {MaxVid}");

    private static ulong[] Bits(IEnumerable<int> vids)
    {
        var bits = new ulong[64];
        foreach (var vid in vids)
        {
            bits[vid >> 6] |= 1UL << vid;
        }

        return bits;
    }
}
