using System.Runtime.CompilerServices;
using UserBridge.Core.Frames;
using UserBridge.Core.Learning;
using UserBridge.Core.Offload;
using UserBridge.Core.Ports;
using UserBridge.Core.Switching;

namespace UserBridge.Core.Forwarding;

/// <summary>
/// The forwarding rules, pure and synchronous: learn the source, then known unicast goes to one port,
/// broadcast, multicast and unknown unicast flood to every other port that is up, nothing goes back out of
/// the ingress port. No allocation, no lock, no exception per frame.
/// </summary>
/// <remarks>
/// Without VLAN settings the switch is VLAN-transparent: tagged frames pass unchanged and are learned under the
/// VID of their outer tag, untagged ones under VID 0, like a Linux bridge without VLAN filtering. VLAN-aware, each
/// port's 802.1Q rules classify the frame into a VLAN (<see cref="VlanClassification"/>), learning and flooding are
/// per VLAN, and egress strips, keeps, pushes or rewrites the service tag per port (<see cref="EgressFrames"/>).
/// </remarks>
public sealed partial class ForwardingEngine(MacTable macTable)
{
    public MacTable MacTable { get; } = macTable;

    /// <summary>Asked to take a port down when one of its guards trips (BPDU guard); called on the worker's thread.</summary>
    public Action<int, DropReason>? ShutDownPort { get; init; }

    /// <summary>Counts the frame (one without offloads) on its ingress port, learns its source and decides where it goes.</summary>
    public ForwardingDecision Decide(BridgeSnapshot snapshot, int ingressPort, ReadOnlySpan<byte> frameBytes, long nowMs) =>
        Decide(snapshot, ingressPort, frameBytes, nowMs, VirtioNetHeader.None);

    /// <summary>
    /// Counts the frame on its ingress port, learns its source and decides where it goes. A frame with GSO
    /// (<paramref name="offload"/>) may exceed the port's maximum frame length; its GSO fields must be ones the switch
    /// takes (<see cref="GsoSegmenter.Admits"/>), or it is dropped as <see cref="DropReason.BadOffload"/>.
    /// </summary>
    public ForwardingDecision Decide(BridgeSnapshot snapshot, int ingressPort, ReadOnlySpan<byte> frameBytes, long nowMs, in VirtioNetHeader offload)
    {
        ArgumentNullException.ThrowIfNull(snapshot);

        // A worker can read a batch just before its port is removed (or the bridge disposed) and the snapshot
        // just after: the port is no longer in it. Its frames are dropped; its counters went with it.
        if (!snapshot.TryGetPort(ingressPort, out var ingress))
        {
            return ForwardingDecision.Drop(DropReason.PortDown);
        }

        var counters = ingress.Counters;
        counters.CountReceived(frameBytes.Length);
        var frame = new EthernetFrame(frameBytes);
        if (ShapeDrop(frame, ingress, offload) is var shape and not DropReason.None)
        {
            return Dropped(counters, shape, 0);
        }

        // Transparent: the frame's own outer VID (0 untagged). Aware: the port's 802.1Q ingress rules.
        var classification = snapshot.VlanAware ? VlanClassification.Classify(ingress.Vlan, frameBytes) : default;
        var vlan = snapshot.VlanAware ? classification.Vlan : frame.VlanId;
        if (!ingress.IsUp)
        {
            return Dropped(counters, DropReason.PortDown, vlan);
        }

        if (classification.DropReason != DropReason.None)
        {
            return Dropped(counters, classification.DropReason, vlan);
        }

        if (vlan == EthernetFrame.ReservedVid)
        {
            return Dropped(counters, DropReason.ReservedVlan, vlan);
        }

        var source = frame.Source;
        if (source.IsMulticast || source.IsZero)
        {
            return Dropped(counters, source.IsZero ? DropReason.ZeroSource : DropReason.MulticastSource, vlan);
        }

        var destination = frame.Destination;
        if (destination.IsLinkLocal && LinkLocalDrop(snapshot, ingress, destination) is var linkLocal and not DropReason.None)
        {
            return Dropped(counters, linkLocal, vlan);
        }

        if (MacTable.Learn(MacTable.Key(source, vlan), ingressPort, nowMs, ingress.Guard.MaxMacs) == LearnResult.PortLimit
            && MacLimitDrop(ingress) is var limited and not DropReason.None)
        {
            return Dropped(counters, limited, vlan);
        }

        return Destine(snapshot, ingress, destination, vlan, classification, nowMs);
    }

    /// <summary>
    /// A frame the switch cannot take as it is: shorter than the header, cut inside its tag, over the port's MTU (unless
    /// GSO), or with GSO fields that would multiply the work it causes.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static DropReason ShapeDrop(in EthernetFrame frame, PortSlot ingress, in VirtioNetHeader offload) =>
        !frame.IsValid ? DropReason.TooShort
        : frame.HasTruncatedTag ? DropReason.TruncatedTag
        : offload.IsGso ? GsoDrop(offload, frame.Length)
        : frame.Length > ingress.Guard.MaxFrameLength ? DropReason.TooLong
        : DropReason.None;

    /// <summary>An offloaded frame's GSO check, out of line: most frames carry none, and the check would crowd them.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static DropReason GsoDrop(in VirtioNetHeader offload, int frameLength) =>
        GsoSegmenter.Admits(offload, frameLength) ? DropReason.None : DropReason.BadOffload;

    /// <summary>Where a learned, admitted frame goes: a flood, its one known port, or nowhere (its own segment, a down port).</summary>
    private ForwardingDecision Destine(BridgeSnapshot snapshot, PortSlot ingress, MacAddress destination, int vlan, in VlanClassification classification, long nowMs)
    {
        if (destination.IsMulticast)
        {
            return Flood(ingress, destination.IsBroadcast ? FloodReason.Broadcast : FloodReason.Multicast, vlan, classification, nowMs);
        }

        var egress = MacTable.Lookup(MacTable.Key(destination, vlan), nowMs);
        if (egress < 0)
        {
            return Flood(ingress, FloodReason.UnknownUnicast, vlan, classification, nowMs);
        }

        if (egress == ingress.Index)
        {
            return Dropped(ingress.Counters, DropReason.LocalDestination, vlan);
        }

        if (!snapshot.TryGetPort(egress, out var egressSlot) || !egressSlot.IsUp)
        {
            return Dropped(ingress.Counters, DropReason.EgressDown, vlan);
        }

        if (snapshot.VlanAware && !egressSlot.Vlan.Carries(vlan))
        {
            // Learned before the port's VLANs changed: the station is not reachable there in this VLAN any more.
            return Flood(ingress, FloodReason.UnknownUnicast, vlan, classification, nowMs);
        }

        return ForwardingDecision.Forward(egress, vlan) with { Ingress = classification };
    }

    /// <summary>
    /// Prefetches the MAC table entries <see cref="Decide(BridgeSnapshot, int, ReadOnlySpan{byte}, long, in VirtioNetHeader)"/> will read for this frame: its source and destination in
    /// the VLAN it will be classified into. See <see cref="MacTable.Prefetch"/>.
    /// </summary>
    public void Prefetch(BridgeSnapshot snapshot, int ingressPort, ReadOnlySpan<byte> frameBytes)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var frame = new EthernetFrame(frameBytes);
        if (!snapshot.TryGetPort(ingressPort, out var ingress) || !frame.IsValid)
        {
            return;
        }

        var vlan = snapshot.VlanAware ? VlanClassification.Classify(ingress.Vlan, frameBytes).Vlan : frame.VlanId;
        MacTable.Prefetch(MacTable.Key(frame.Source, vlan));
        MacTable.Prefetch(MacTable.Key(frame.Destination, vlan));
    }

    /// <summary>
    /// A frame to the 802.1 link-local group: a BPDU on a port with BPDU guard takes the port down; otherwise such
    /// frames are dropped unless the switch forwards them (<see cref="BridgeSnapshot.ForwardLinkLocal"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private DropReason LinkLocalDrop(BridgeSnapshot snapshot, PortSlot ingress, MacAddress destination)
    {
        if (destination.IsBpduGroup && ingress.Guard.BpduGuard)
        {
            ShutDownPort?.Invoke(ingress.Index, DropReason.BpduGuard);
            return DropReason.BpduGuard;
        }

        return snapshot.ForwardLinkLocal ? DropReason.None : DropReason.LinkLocal;
    }

    /// <summary>A flood, unless the port's storm control says it is one too many this second.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ForwardingDecision Flood(PortSlot ingress, FloodReason reason, int vlan, in VlanClassification classification, long nowMs)
    {
        if (ingress.Storm is { } storm && !storm.Allow(reason, nowMs))
        {
            return Dropped(ingress.Counters, StormDrop(reason), vlan);
        }

        ingress.Counters.CountFlood();
        return ForwardingDecision.Flood(reason, vlan) with { Ingress = classification };
    }

    private static DropReason StormDrop(FloodReason reason) => reason switch
    {
        FloodReason.Broadcast => DropReason.StormBroadcast,
        FloodReason.Multicast => DropReason.StormMulticast,
        _ => DropReason.StormUnknownUnicast,
    };

    /// <summary>A new source on a port at its <c>max_macs</c>: dropped, dropped and the port shut down, or let through unlearned.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private DropReason MacLimitDrop(PortSlot ingress)
    {
        switch (ingress.Guard.OnLimit)
        {
            case MacLimitAction.Log:
                ingress.Counters.CountMacLimitUnlearned();
                return DropReason.None;
            case MacLimitAction.Shutdown:
                ShutDownPort?.Invoke(ingress.Index, DropReason.MacLimit);
                return DropReason.MacLimit;
            case MacLimitAction.Drop:
            default:
                return DropReason.MacLimit;
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static ForwardingDecision Dropped(PortCounters counters, DropReason reason, int vlan)
    {
        counters.CountDrop(reason);
        return ForwardingDecision.Drop(reason, vlan);
    }
}
