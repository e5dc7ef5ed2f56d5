using System.Runtime.CompilerServices;
using UserBridge.Core.Observers;
using UserBridge.Core.Offload;
using UserBridge.Core.Ports;
using UserBridge.Core.Switching;
using UserBridge.Core.Workers;

namespace UserBridge.Core.Forwarding;

/// <summary>The sending half of the data path: VLAN tag rewriting, offloads, counters.</summary>
public sealed partial class ForwardingEngine
{
    /// <summary>
    /// Decides and sends: the whole data path for one frame. Each egress port gets the frame with the service tag
    /// it wants; a frame with an offload (GSO, partial checksum) goes whole to ports that take offloads and through
    /// the worker's segmenter to the others.
    /// </summary>
    public ForwardingDecision Process(BridgeSnapshot snapshot, int ingressPort, ReadOnlySpan<byte> frameBytes, in VirtioNetHeader offload, WorkerContext context, long nowMs)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (snapshot.Taps is { } taps)
        {
            return ProcessObserved(taps, snapshot, ingressPort, frameBytes, offload, context, nowMs);
        }

        var decision = Decide(snapshot, ingressPort, frameBytes, nowMs, offload);
        if (decision.Action == ForwardingAction.Drop)
        {
            return decision;
        }

        var ports = snapshot.Ports;
        var aware = snapshot.VlanAware;
        if (decision.Action == ForwardingAction.Forward && !aware)
        {
            // The common case, kept short: one port, the frame as it came.
            return Send(ports[decision.EgressPort]!, frameBytes, offload, context.Segmenter)
                ? decision
                : Dropped(ports[ingressPort]!.Counters, DropReason.BadOffload, decision.Vlan);
        }

        return SendAll(snapshot, ingressPort, decision, frameBytes, offload, context, taps: null, stamp: default);
    }

    /// <summary>
    /// The data path while captures or mirrors are attached: a mirror's output takes no traffic of its own; every
    /// other frame is stamped, and its ingress copy and each egress copy are offered to the taps of their port.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private ForwardingDecision ProcessObserved(ObserverSet taps, BridgeSnapshot snapshot, int ingressPort, ReadOnlySpan<byte> frameBytes, in VirtioNetHeader offload, WorkerContext context, long nowMs)
    {
        if (snapshot.TryGetPort(ingressPort, out var output) && output.IsMirrorOutput)
        {
            output.Counters.CountReceived(frameBytes.Length);
            return Dropped(output.Counters, DropReason.MirrorOutput, 0);
        }

        var decision = Decide(snapshot, ingressPort, frameBytes, nowMs, offload);
        var stamp = taps.OnIngress(snapshot.Ports, ingressPort, frameBytes, decision, offload, context);
        if (decision.Action == ForwardingAction.Drop)
        {
            return decision;
        }

        return SendAll(snapshot, ingressPort, decision, frameBytes, offload, context, taps, stamp);
    }

    /// <summary>
    /// Sends a forwarded or flooded frame to its egress port or ports, in the form each port takes. Kept out of
    /// <see cref="Process(BridgeSnapshot, int, ReadOnlySpan{byte}, in VirtioNetHeader, WorkerContext, long)"/> so
    /// that the common case does not pay for setting up the egress forms.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static ForwardingDecision SendAll(BridgeSnapshot snapshot, int ingressPort, in ForwardingDecision decision, ReadOnlySpan<byte> frameBytes, in VirtioNetHeader offload, WorkerContext context, ObserverSet? taps, ObserverStamp stamp)
    {
        var egress = new Egress(decision, frameBytes, offload, snapshot.VlanAware, context, taps, stamp);
        var ports = snapshot.Ports;
        if (decision.Action == ForwardingAction.Forward)
        {
            return egress.SendTo(ports[decision.EgressPort]!)
                ? decision
                : Dropped(ports[ingressPort]!.Counters, DropReason.BadOffload, decision.Vlan);
        }

        // A port that cannot take the frame's offload (its segments exceed that port's MTU, or it cannot be segmented)
        // does not keep it from the others; the refusal is counted once, and is the frame's fate if no port took it.
        var refused = false;
        var sent = false;
        foreach (var index in snapshot.FloodPortsOf(decision.Vlan))
        {
            if (index != ingressPort)
            {
                var taken = egress.SendTo(ports[index]!);
                refused |= !taken;
                sent |= taken;
            }
        }

        if (!refused)
        {
            return decision;
        }

        if (!sent)
        {
            return Dropped(ports[ingressPort]!.Counters, DropReason.BadOffload, decision.Vlan);
        }

        ports[ingressPort]!.Counters.CountDrop(DropReason.BadOffload);
        return decision;
    }

    /// <summary>A tag pushed or popped in front of the L3 header moves the offsets the offload counts from.</summary>
    internal static VirtioNetHeader Shifted(in VirtioNetHeader offload, int lengthDelta) => offload with
    {
        ChecksumStart = (ushort)(offload.ChecksumStart + lengthDelta),
        HeaderLength = offload.HeaderLength == 0 ? (ushort)0 : (ushort)(offload.HeaderLength + lengthDelta),
    };

    /// <summary>Sends to one port; false only when the frame's offload is impossible (nothing was sent).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static bool Send(PortSlot egress, ReadOnlySpan<byte> frameBytes, in VirtioNetHeader offload, GsoSegmenter segmenter)
    {
        if (!offload.IsGso && !offload.NeedsChecksum)
        {
            Count(egress, egress.Port.Send(frameBytes), frameBytes.Length);
            return true;
        }

        return SendOffloaded(egress, frameBytes, offload, segmenter);
    }

    /// <summary>
    /// Sends a frame with an offload: whole to a port that takes offloads, else segmented and with its checksum
    /// finished. Either way a GSO frame whose segments would exceed the port's MTU is refused, as the Linux bridge
    /// refuses it (<c>is_skb_forwardable</c>).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static bool SendOffloaded(PortSlot egress, ReadOnlySpan<byte> frameBytes, in VirtioNetHeader offload, GsoSegmenter segmenter)
    {
        var maxFrameLength = egress.Guard.MaxFrameLength;
        if (egress.Port is IOffloadPort offloadPort && offloadPort.Accepts(offload))
        {
            if (offload.IsGso && GsoSegmenter.LongestSegment(frameBytes, offload) > maxFrameLength)
            {
                return false;
            }

            Count(egress, offloadPort.Send(frameBytes, offload), frameBytes.Length);
            return true;
        }

        var sink = new EgressSink(egress);
        return segmenter.Process(frameBytes, offload, maxFrameLength, ref sink) >= 0;
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

    /// <summary>
    /// One frame on its way out: the forms it leaves in (built at most once each) and the taps that take a copy of
    /// each egress form.
    /// </summary>
    private ref struct Egress(in ForwardingDecision decision, ReadOnlySpan<byte> frameBytes, in VirtioNetHeader offload, bool aware, WorkerContext context, ObserverSet? taps, ObserverStamp stamp)
    {
        private readonly ForwardingDecision _decision = decision;
        private readonly ReadOnlySpan<byte> _frameBytes = frameBytes;
        private readonly VirtioNetHeader _offload = offload;
        private EgressFrames _frames = new(frameBytes, decision.Ingress, context);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool SendTo(PortSlot port)
        {
            var frame = _frameBytes;
            var lengthDelta = 0;
            if (aware)
            {
                frame = _frames.For(port.Vlan, _decision.Vlan, out lengthDelta);
            }

            var offload = lengthDelta == 0 || (!_offload.IsGso && !_offload.NeedsChecksum) ? _offload : Shifted(_offload, lengthDelta);
            taps?.OnEgress(port, frame, offload, _decision, stamp, context);
            return Send(port, frame, offload, context.Segmenter);
        }
    }

    /// <summary>Sends each segment the segmenter produces to one port.</summary>
    private readonly struct EgressSink(PortSlot egress) : IFrameSink
    {
        public void Emit(ReadOnlySpan<byte> frame) => Count(egress, egress.Port.Send(frame), frame.Length);
    }
}
