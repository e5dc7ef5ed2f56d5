using UserBridge.Core.Forwarding;
using UserBridge.Core.Offload;
using UserBridge.Core.Ports;
using UserBridge.Core.Workers;

namespace UserBridge.Core.Observers;

/// <summary>
/// One copy offered to a tap: the port it was seen on, which way it went, the forwarding decision for the frame,
/// the stamp shared by all copies of the frame, and the bytes as they crossed that port (an egress copy is the
/// frame with the port's VLAN tag rewriting applied). Valid only during the call.
/// </summary>
public readonly ref struct ObservedFrame
{
    public ObservedFrame(PortSlot port, ObserverDirection direction, in ForwardingDecision decision, ObserverStamp stamp, ReadOnlySpan<byte> frame, in VirtioNetHeader offload, WorkerContext context)
    {
        Port = port;
        Direction = direction;
        Decision = decision;
        Stamp = stamp;
        Frame = frame;
        Offload = offload;
        Context = context;
    }

    public PortSlot Port { get; }

    public ObserverDirection Direction { get; }

    public ForwardingDecision Decision { get; }

    public ObserverStamp Stamp { get; }

    public ReadOnlySpan<byte> Frame { get; }

    /// <summary>The frame's offload (a 64 KiB GSO frame is offered whole, as the port sent or received it).</summary>
    public VirtioNetHeader Offload { get; }

    /// <summary>The worker's scratch buffers and segmenter.</summary>
    public WorkerContext Context { get; }
}
