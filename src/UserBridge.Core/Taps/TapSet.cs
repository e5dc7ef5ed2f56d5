using UserBridge.Core.Offload;

namespace UserBridge.Core.Taps;

/// <summary>
/// The taps of one snapshot, resolved per port index: which taps take a port's received frames, its dropped
/// frames and its sent frames (a mirror's output port is marked on its <see cref="PortSlot"/>). Built by the control plane; the workers only read it. A snapshot without taps has
/// none at all, so the data path pays one null check.
/// </summary>
public sealed class TapSet
{
    private static readonly FrameTap[] None = [];
    private static long s_nextPacketId;

    private readonly FrameTap[][] _in;
    private readonly FrameTap[][] _dropped;
    private readonly FrameTap[][] _out;

    public TapSet(PortSlot?[] ports, IReadOnlyList<FrameTap> taps)
    {
        ArgumentNullException.ThrowIfNull(ports);
        ArgumentNullException.ThrowIfNull(taps);
        _in = new FrameTap[ports.Length][];
        _dropped = new FrameTap[ports.Length][];
        _out = new FrameTap[ports.Length][];
        for (var i = 0; i < ports.Length; i++)
        {
            var slot = ports[i];
            _in[i] = slot is null ? None : [.. taps.Where(tap => tap.Direction.HasFlag(TapDirection.In) && tap.Selects(slot))];
            _dropped[i] = slot is null ? None : [.. taps.Where(tap => tap.Direction.HasFlag(TapDirection.In) && tap.IncludeDrops && tap.Selects(slot))];
            _out[i] = slot is null ? None : [.. taps.Where(tap => tap.Direction.HasFlag(TapDirection.Out) && tap.Selects(slot))];
        }
    }

    /// <summary>Stamps a frame and offers its ingress copy (or its dropped copy) to the taps of its port.</summary>
    public TapStamp OnIngress(PortSlot?[] ports, int ingressPort, ReadOnlySpan<byte> frame, in ForwardingDecision decision, in VirtioNetHeader offload, WorkerContext context)
    {
        ArgumentNullException.ThrowIfNull(ports);
        var stamp = new TapStamp((ulong)Interlocked.Increment(ref s_nextPacketId), TapClock.NowNs());
        if ((uint)ingressPort >= (uint)_in.Length || ports[ingressPort] is not { } slot)
        {
            return stamp;
        }

        var taps = decision.Action == ForwardingAction.Drop ? _dropped[ingressPort] : _in[ingressPort];
        if (taps.Length != 0)
        {
            Offer(taps, new TapEvent(slot, TapDirection.In, decision, stamp, frame, offload, context));
        }

        return stamp;
    }

    /// <summary>Offers one egress copy, as it leaves <paramref name="egress"/>, to that port's taps.</summary>
    public void OnEgress(PortSlot egress, ReadOnlySpan<byte> frame, in VirtioNetHeader offload, in ForwardingDecision decision, TapStamp stamp, WorkerContext context)
    {
        ArgumentNullException.ThrowIfNull(egress);
        if ((uint)egress.Index < (uint)_out.Length && _out[egress.Index] is { Length: > 0 } taps)
        {
            Offer(taps, new TapEvent(egress, TapDirection.Out, decision, stamp, frame, offload, context));
        }
    }

    private static void Offer(FrameTap[] taps, in TapEvent copy)
    {
        foreach (var tap in taps)
        {
            tap.Observe(copy);
        }
    }
}
