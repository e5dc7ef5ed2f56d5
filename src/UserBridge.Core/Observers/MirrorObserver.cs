using System.Buffers.Binary;
using UserBridge.Core.Forwarding;
using UserBridge.Core.Frames;
using UserBridge.Core.Ports;

namespace UserBridge.Core.Observers;

/// <summary>
/// Port mirroring (SPAN): copies of the traffic of the source ports (<see cref="FrameObserver.Ports"/>) are sent out of
/// <see cref="Output"/>, as they crossed the source port, or with an 802.1Q tag of <see cref="Vlan"/> pushed in front
/// so that a collector can tell mirrored traffic apart. The output port takes copies only: the switch never learns
/// on it, floods to it or forwards what it receives (<see cref="PortSlot.IsMirrorOutput"/>).
/// </summary>
public sealed class MirrorObserver : FrameObserver
{
    private PortSlot? _output;

    public MirrorObserver(string output, int vlan = 0)
    {
        ArgumentException.ThrowIfNullOrEmpty(output);
        ArgumentOutOfRangeException.ThrowIfNegative(vlan);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(vlan, PortVlan.MaxVid);
        Output = output;
        Vlan = vlan;
    }

    /// <summary>The port the copies go out of.</summary>
    public string Output { get; }

    /// <summary>0: copies go as they are; otherwise the VID of the 802.1Q tag pushed onto every copy.</summary>
    public int Vlan { get; }

    public override void Observe(in ObservedFrame copy)
    {
        var output = Volatile.Read(ref _output);
        if (output is not { IsUp: true } || output.Index == copy.Port.Index)
        {
            return;
        }

        var segmenter = copy.Context.Segmenter;
        if (Vlan == 0)
        {
            ForwardingEngine.Send(output, copy.Frame, copy.Offload, segmenter);
            return;
        }

        var frame = copy.Frame;
        var tagged = copy.Context.Mirror.AsSpan(0, frame.Length + EthernetFrame.VlanTagLength);
        frame[..12].CopyTo(tagged);
        BinaryPrimitives.WriteUInt16BigEndian(tagged[12..], PortVlan.TpidDot1q);
        BinaryPrimitives.WriteUInt16BigEndian(tagged[14..], (ushort)Vlan);
        frame[12..].CopyTo(tagged[16..]);
        var offload = copy.Offload;
        ForwardingEngine.Send(output, tagged, offload.IsGso || offload.NeedsChecksum ? ForwardingEngine.Shifted(offload, EthernetFrame.VlanTagLength) : offload, segmenter);
    }

    protected internal override void Bind(PortSlot?[] ports)
    {
        ArgumentNullException.ThrowIfNull(ports);
        PortSlot? output = null;
        foreach (var slot in ports)
        {
            if (slot is not null && slot.Name == Output)
            {
                output = slot;
            }
        }

        Volatile.Write(ref _output, output);
    }
}
