using System.Runtime.CompilerServices;
using UserBridge.Core.Offload;

namespace UserBridge.Core;

/// <summary>
/// The forwarding rules, pure and synchronous: learn the source, then known unicast goes to one port,
/// broadcast, multicast and unknown unicast flood to every other port that is up, nothing goes back out of
/// the ingress port. No allocation, no lock, no exception per frame.
/// </summary>
/// <remarks>
/// The switch is VLAN-transparent here: tagged frames pass unchanged and are learned under the VID of their
/// outer tag, untagged ones under VID 0, like a Linux bridge without VLAN filtering.
/// </remarks>
public sealed class ForwardingEngine(MacTable macTable)
{
    public MacTable MacTable { get; } = macTable;

    /// <summary>Counts the frame on its ingress port, learns its source and decides where it goes.</summary>
    public ForwardingDecision Decide(SwitchSnapshot snapshot, int ingressPort, ReadOnlySpan<byte> frameBytes, long nowMs)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var ports = snapshot.Ports;

        // A worker can read a batch just before its port is removed (or the bridge disposed) and the snapshot
        // just after: the port is no longer in it. Its frames are dropped; its counters went with it.
        if ((uint)ingressPort >= (uint)ports.Length || ports[ingressPort] is not { } ingress)
        {
            return ForwardingDecision.Drop(DropReason.PortDown);
        }

        var counters = ingress.Counters;
        counters.CountReceived(frameBytes.Length);
        var frame = new EthernetFrame(frameBytes);
        if (!frame.IsValid)
        {
            return Dropped(counters, DropReason.TooShort, 0);
        }

        var vlan = frame.VlanId;
        if (!ingress.IsUp)
        {
            return Dropped(counters, DropReason.PortDown, vlan);
        }

        var source = frame.Source;
        if (source.IsMulticast)
        {
            return Dropped(counters, DropReason.MulticastSource, vlan);
        }

        MacTable.Learn(MacTable.Key(source, vlan), ingressPort, nowMs);

        var destination = frame.Destination;
        if (destination.IsMulticast)
        {
            counters.CountFlood();
            return ForwardingDecision.Flood(destination.IsBroadcast ? FloodReason.Broadcast : FloodReason.Multicast, vlan);
        }

        var egress = MacTable.Lookup(MacTable.Key(destination, vlan), nowMs);
        if (egress < 0)
        {
            counters.CountFlood();
            return ForwardingDecision.Flood(FloodReason.UnknownUnicast, vlan);
        }

        if (egress == ingressPort)
        {
            return Dropped(counters, DropReason.LocalDestination, vlan);
        }

        if ((uint)egress >= (uint)ports.Length || ports[egress] is not { IsUp: true })
        {
            return Dropped(counters, DropReason.EgressDown, vlan);
        }

        return ForwardingDecision.Forward(egress, vlan);
    }

    /// <summary>Decides and sends a frame that carries no offload.</summary>
    public ForwardingDecision Process(SwitchSnapshot snapshot, int ingressPort, ReadOnlySpan<byte> frameBytes, long nowMs) =>
        Process(snapshot, ingressPort, frameBytes, VirtioNetHeader.None, null, nowMs);

    /// <summary>
    /// Decides and sends: the whole data path for one frame. A frame with an offload (GSO, partial checksum) goes
    /// whole to ports that take offloads and through <paramref name="segmenter"/> (the worker's own) to the others.
    /// </summary>
    public ForwardingDecision Process(SwitchSnapshot snapshot, int ingressPort, ReadOnlySpan<byte> frameBytes, in VirtioNetHeader offload, GsoSegmenter? segmenter, long nowMs)
    {
        var decision = Decide(snapshot, ingressPort, frameBytes, nowMs);
        var ports = snapshot.Ports;
        switch (decision.Action)
        {
            case ForwardingAction.Forward:
                if (!Send(ports[decision.EgressPort]!, frameBytes, offload, segmenter))
                {
                    return Dropped(ports[ingressPort]!.Counters, DropReason.BadOffload, decision.Vlan);
                }

                break;
            case ForwardingAction.Flood:
                foreach (var index in snapshot.FloodPorts)
                {
                    if (index != ingressPort && !Send(ports[index]!, frameBytes, offload, segmenter))
                    {
                        return Dropped(ports[ingressPort]!.Counters, DropReason.BadOffload, decision.Vlan);
                    }
                }

                break;
            case ForwardingAction.Drop:
            default:
                break;
        }

        return decision;
    }

    /// <summary>Sends to one port; false only when the frame's offload is impossible (nothing was sent).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool Send(PortSlot egress, ReadOnlySpan<byte> frameBytes, in VirtioNetHeader offload, GsoSegmenter? segmenter)
    {
        if (!offload.IsGso && !offload.NeedsChecksum)
        {
            Count(egress, egress.Port.Send(frameBytes), frameBytes.Length);
            return true;
        }

        return SendOffloaded(egress, frameBytes, offload, segmenter);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static bool SendOffloaded(PortSlot egress, ReadOnlySpan<byte> frameBytes, in VirtioNetHeader offload, GsoSegmenter? segmenter)
    {
        if (egress.Port is IOffloadPort { AcceptsOffloads: true } offloadPort)
        {
            Count(egress, offloadPort.Send(frameBytes, offload), frameBytes.Length);
            return true;
        }

        if (segmenter is null)
        {
            egress.Counters.CountSendError();
            return true;
        }

        var sink = new EgressSink(egress);
        return segmenter.Process(frameBytes, offload, ref sink) >= 0;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Count(PortSlot egress, bool sent, int frameLength)
    {
        if (sent)
        {
            egress.Counters.CountSent(frameLength);
        }
        else
        {
            egress.Counters.CountSendError();
        }
    }

    /// <summary>Sends each segment the segmenter produces to one port.</summary>
    private readonly struct EgressSink(PortSlot egress) : IFrameSink
    {
        public void Emit(ReadOnlySpan<byte> frame) => Count(egress, egress.Port.Send(frame), frame.Length);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static ForwardingDecision Dropped(PortCounters counters, DropReason reason, int vlan)
    {
        counters.CountDrop(reason);
        return ForwardingDecision.Drop(reason, vlan);
    }
}
