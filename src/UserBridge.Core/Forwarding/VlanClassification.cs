using System.Buffers.Binary;
using UserBridge.Core.Frames;
using UserBridge.Core.Ports;

namespace UserBridge.Core.Forwarding;

/// <summary>
/// Which VLAN a frame belongs to on its ingress port, and what service tag it carries at offset 12 (the tag the
/// switch strips, keeps or rewrites on egress). A customer tag behind a dot1q-tunnel port is payload, not this.
/// </summary>
public readonly record struct VlanClassification(int Vlan, bool TagPresent, ushort Tpid, ushort PriorityBits, DropReason DropReason)
{
    private const ushort VidMask = 0x0FFF;

    public static VlanClassification Drop(DropReason reason) => new(0, false, 0, 0, reason);

    /// <summary>Applies the ingress rules of <paramref name="port"/> (VLAN-aware mode).</summary>
    public static VlanClassification Classify(PortVlan port, ReadOnlySpan<byte> frame)
    {
        ArgumentNullException.ThrowIfNull(port);
        var tpid = BinaryPrimitives.ReadUInt16BigEndian(frame[12..]);
        var hasTag = frame.Length >= EthernetFrame.HeaderLength + EthernetFrame.VlanTagLength;
        var tci = hasTag ? BinaryPrimitives.ReadUInt16BigEndian(frame[14..]) : (ushort)0;
        var vid = tci & VidMask;
        var priority = (ushort)(tci & ~VidMask);
        switch (port.Mode)
        {
            case VlanMode.Access:
                if (hasTag && tpid == PortVlan.TpidDot1q)
                {
                    // Priority-tagged (VID 0) frames belong to the access VLAN; any other tag does not belong here.
                    return vid switch
                    {
                        0 => new VlanClassification(port.Vlan, true, tpid, priority, DropReason.None),
                        EthernetFrame.ReservedVid => Drop(DropReason.ReservedVlan),
                        _ => Drop(DropReason.VlanTaggedOnAccess),
                    };
                }

                return new VlanClassification(port.Vlan, false, 0, 0, DropReason.None);
            case VlanMode.Trunk:
                if (hasTag && tpid == port.Tpid && vid != 0)
                {
                    if (vid == EthernetFrame.ReservedVid)
                    {
                        return Drop(DropReason.ReservedVlan);
                    }

                    return port.Carries(vid)
                        ? new VlanClassification(vid, true, tpid, priority, DropReason.None)
                        : Drop(DropReason.VlanNotAllowed);
                }

                if (port.Native == 0)
                {
                    return Drop(DropReason.VlanUntaggedOnTrunk);
                }

                var priorityTagged = hasTag && tpid == port.Tpid;
                return new VlanClassification(port.Native, priorityTagged, priorityTagged ? tpid : (ushort)0, priorityTagged ? priority : (ushort)0, DropReason.None);
            case VlanMode.Dot1qTunnel:
            default:
                return new VlanClassification(port.Vlan, false, 0, 0, DropReason.None);
        }
    }
}
