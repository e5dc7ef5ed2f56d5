using System.Runtime.CompilerServices;

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

    /// <summary>Decides and sends: the whole data path for one frame.</summary>
    public ForwardingDecision Process(SwitchSnapshot snapshot, int ingressPort, ReadOnlySpan<byte> frameBytes, long nowMs)
    {
        var decision = Decide(snapshot, ingressPort, frameBytes, nowMs);
        switch (decision.Action)
        {
            case ForwardingAction.Forward:
                Send(snapshot.Ports[decision.EgressPort]!, frameBytes);
                break;
            case ForwardingAction.Flood:
                var ports = snapshot.Ports;
                foreach (var index in snapshot.FloodPorts)
                {
                    if (index != ingressPort)
                    {
                        Send(ports[index]!, frameBytes);
                    }
                }

                break;
            case ForwardingAction.Drop:
            default:
                break;
        }

        return decision;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Send(PortSlot egress, ReadOnlySpan<byte> frameBytes)
    {
        if (egress.Port.Send(frameBytes))
        {
            egress.Counters.CountSent(frameBytes.Length);
        }
        else
        {
            egress.Counters.CountSendError();
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static ForwardingDecision Dropped(PortCounters counters, DropReason reason, int vlan)
    {
        counters.CountDrop(reason);
        return ForwardingDecision.Drop(reason, vlan);
    }
}
