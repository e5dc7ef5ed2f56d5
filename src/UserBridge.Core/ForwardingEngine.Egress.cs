using System.Runtime.CompilerServices;
using UserBridge.Core.Offload;

namespace UserBridge.Core;

/// <summary>The sending half of the data path: VLAN tag rewriting, offloads, counters.</summary>
public sealed partial class ForwardingEngine
{
    [ThreadStatic]
    private static WorkerContext? t_context;

    /// <summary>Decides and sends a frame that carries no offload (tests, benchmarks: a context per thread).</summary>
    public ForwardingDecision Process(SwitchSnapshot snapshot, int ingressPort, ReadOnlySpan<byte> frameBytes, long nowMs) =>
        Process(snapshot, ingressPort, frameBytes, VirtioNetHeader.None, t_context ??= new WorkerContext(), nowMs);

    /// <summary>
    /// Decides and sends: the whole data path for one frame. Each egress port gets the frame with the service tag
    /// it wants; a frame with an offload (GSO, partial checksum) goes whole to ports that take offloads and through
    /// the worker's segmenter to the others.
    /// </summary>
    public ForwardingDecision Process(SwitchSnapshot snapshot, int ingressPort, ReadOnlySpan<byte> frameBytes, in VirtioNetHeader offload, WorkerContext context, long nowMs)
    {
        ArgumentNullException.ThrowIfNull(context);
        var decision = Decide(snapshot, ingressPort, frameBytes, nowMs);
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

        var frames = new EgressFrames(frameBytes, decision.Ingress, context);
        if (decision.Action == ForwardingAction.Forward)
        {
            return SendTo(ports[decision.EgressPort]!, ref frames, frameBytes, aware, decision.Vlan, offload, context)
                ? decision
                : Dropped(ports[ingressPort]!.Counters, DropReason.BadOffload, decision.Vlan);
        }

        foreach (var index in snapshot.FloodPortsOf(decision.Vlan))
        {
            if (index != ingressPort && !SendTo(ports[index]!, ref frames, frameBytes, aware, decision.Vlan, offload, context))
            {
                return Dropped(ports[ingressPort]!.Counters, DropReason.BadOffload, decision.Vlan);
            }
        }

        return decision;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool SendTo(PortSlot egress, ref EgressFrames frames, ReadOnlySpan<byte> frameBytes, bool aware, int vlan, in VirtioNetHeader offload, WorkerContext context)
    {
        if (!aware)
        {
            return Send(egress, frameBytes, offload, context.Segmenter);
        }

        var frame = frames.For(egress.Vlan, vlan, out var lengthDelta);
        return lengthDelta == 0 || (!offload.IsGso && !offload.NeedsChecksum)
            ? Send(egress, frame, offload, context.Segmenter)
            : Send(egress, frame, Shifted(offload, lengthDelta), context.Segmenter);
    }

    /// <summary>A tag pushed or popped in front of the L3 header moves the offsets the offload counts from.</summary>
    private static VirtioNetHeader Shifted(in VirtioNetHeader offload, int lengthDelta) => offload with
    {
        ChecksumStart = (ushort)(offload.ChecksumStart + lengthDelta),
        HeaderLength = offload.HeaderLength == 0 ? (ushort)0 : (ushort)(offload.HeaderLength + lengthDelta),
    };

    /// <summary>Sends to one port; false only when the frame's offload is impossible (nothing was sent).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool Send(PortSlot egress, ReadOnlySpan<byte> frameBytes, in VirtioNetHeader offload, GsoSegmenter segmenter)
    {
        if (!offload.IsGso && !offload.NeedsChecksum)
        {
            Count(egress, egress.Port.Send(frameBytes), frameBytes.Length);
            return true;
        }

        return SendOffloaded(egress, frameBytes, offload, segmenter);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static bool SendOffloaded(PortSlot egress, ReadOnlySpan<byte> frameBytes, in VirtioNetHeader offload, GsoSegmenter segmenter)
    {
        if (egress.Port is IOffloadPort { AcceptsOffloads: true } offloadPort)
        {
            Count(egress, offloadPort.Send(frameBytes, offload), frameBytes.Length);
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
}
