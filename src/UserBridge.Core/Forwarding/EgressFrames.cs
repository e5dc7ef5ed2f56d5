using System.Buffers.Binary;
using UserBridge.Core.Frames;
using UserBridge.Core.Ports;
using UserBridge.Core.Workers;

namespace UserBridge.Core.Forwarding;

/// <summary>
/// The forms one frame leaves the switch in, built at most once each per frame: as it came, without its
/// service tag (access and dot1q-tunnel ports, a trunk's native VLAN), or with a tag of the egress trunk's TPID
/// and the frame's VLAN, its PCP/DEI bits kept. Only a pop or a push copies; a tagged frame crossing trunks of
/// one TPID, and an untagged one crossing access ports, go as they came.
/// </summary>
internal ref struct EgressFrames(ReadOnlySpan<byte> original, VlanClassification ingress, WorkerContext context)
{
    private readonly ReadOnlySpan<byte> _original = original;
    private int _untaggedLength = -1;
    private int _taggedLength = -1;
    private ushort _taggedTpid;

    /// <summary>The frame as <paramref name="egress"/> takes it; <paramref name="lengthDelta"/> is -4, 0 or +4.</summary>
    public ReadOnlySpan<byte> For(PortVlan egress, int vlan, out int lengthDelta)
    {
        lengthDelta = 0;
        if (egress.EgressTagged(vlan))
        {
            if (ingress.TagPresent && ingress.Tpid == egress.Tpid && (BinaryPrimitives.ReadUInt16BigEndian(_original[14..]) & 0x0FFF) == vlan)
            {
                return _original;
            }

            if (_taggedLength < 0 || _taggedTpid != egress.Tpid)
            {
                _taggedTpid = egress.Tpid;
                _taggedLength = Tag(egress.Tpid, vlan);
            }

            lengthDelta = _taggedLength - _original.Length;
            return context.Tagged.AsSpan(0, _taggedLength);
        }

        if (!ingress.TagPresent)
        {
            return _original;
        }

        if (_untaggedLength < 0)
        {
            _original[..12].CopyTo(context.Untagged);
            _original[16..].CopyTo(context.Untagged.AsSpan(12));
            _untaggedLength = _original.Length - EthernetFrame.VlanTagLength;
        }

        lengthDelta = -EthernetFrame.VlanTagLength;
        return context.Untagged.AsSpan(0, _untaggedLength);
    }

    /// <summary>Writes the frame with a service tag (replacing the one it came with, if any); returns its length.</summary>
    private readonly int Tag(ushort tpid, int vlan)
    {
        var tagged = context.Tagged.AsSpan();
        _original[..12].CopyTo(tagged);
        BinaryPrimitives.WriteUInt16BigEndian(tagged[12..], tpid);
        BinaryPrimitives.WriteUInt16BigEndian(tagged[14..], (ushort)(ingress.PriorityBits | vlan));
        var rest = ingress.TagPresent ? _original[16..] : _original[12..];
        rest.CopyTo(tagged[16..]);
        return 16 + rest.Length;
    }
}
