using UserBridge.Core.Forwarding;
using UserBridge.Core.Offload;
using UserBridge.Core.Ports;
using UserBridge.Core.Workers;

namespace UserBridge.Core.Observers;

/// <summary>
/// The taps of one snapshot, resolved per port index: which taps take a port's received frames, its dropped
/// frames and its sent frames (a mirror's output port is marked on its <see cref="PortSlot"/>). Built by the control plane; the workers only read it. A snapshot without taps has
/// none at all, so the data path pays one null check.
/// </summary>
public sealed class ObserverSet
{
    private static readonly FrameObserver[] None = [];
    private static long s_nextPacketId;

    private readonly FrameObserver[][] _in;
    private readonly FrameObserver[][] _dropped;
    private readonly FrameObserver[][] _out;

    public ObserverSet(PortSlot?[] ports, IReadOnlyList<FrameObserver> taps)
    {
        ArgumentNullException.ThrowIfNull(ports);
        ArgumentNullException.ThrowIfNull(taps);
        _in = new FrameObserver[ports.Length][];
        _dropped = new FrameObserver[ports.Length][];
        _out = new FrameObserver[ports.Length][];
        for (var i = 0; i < ports.Length; i++)
        {
            var slot = ports[i];
            _in[i] = slot is null ? None : [.. taps.Where(tap => tap.Direction.HasFlag(ObserverDirection.In) && tap.Selects(slot))];
            _dropped[i] = slot is null ? None : [.. taps.Where(tap => tap.Direction.HasFlag(ObserverDirection.In) && tap.IncludeDrops && tap.Selects(slot))];
            _out[i] = slot is null ? None : [.. taps.Where(tap => tap.Direction.HasFlag(ObserverDirection.Out) && tap.Selects(slot))];
        }
    }

    /// <summary>Stamps a frame and offers its ingress copy (or its dropped copy) to the taps of its port.</summary>
    public ObserverStamp OnIngress(PortSlot?[] ports, int ingressPort, ReadOnlySpan<byte> frame, in ForwardingDecision decision, in VirtioNetHeader offload, WorkerContext context)
    {
        ArgumentNullException.ThrowIfNull(ports);
        var stamp = new ObserverStamp((ulong)Interlocked.Increment(ref s_nextPacketId), ObserverClock.NowNs());
        if ((uint)ingressPort >= (uint)_in.Length || ports[ingressPort] is not { } slot)
        {
            return stamp;
        }

        var taps = decision.Action == ForwardingAction.Drop ? _dropped[ingressPort] : _in[ingressPort];
        if (taps.Length != 0)
        {
            Offer(taps, new ObservedFrame(slot, ObserverDirection.In, decision, stamp, frame, offload, context));
        }

        return stamp;
    }

    /// <summary>Offers one egress copy, as it leaves <paramref name="egress"/>, to that port's taps.</summary>
    public void OnEgress(PortSlot egress, ReadOnlySpan<byte> frame, in VirtioNetHeader offload, in ForwardingDecision decision, ObserverStamp stamp, WorkerContext context)
    {
        ArgumentNullException.ThrowIfNull(egress);
        if ((uint)egress.Index < (uint)_out.Length && _out[egress.Index] is { Length: > 0 } taps)
        {
            Offer(taps, new ObservedFrame(egress, ObserverDirection.Out, decision, stamp, frame, offload, context));
        }
    }

    private static void Offer(FrameObserver[] taps, in ObservedFrame copy)
    {
        foreach (var tap in taps)
        {
            tap.Observe(copy);
        }
    }
}
