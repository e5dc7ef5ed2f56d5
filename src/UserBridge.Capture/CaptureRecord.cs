using UserBridge.Core.Forwarding;
using UserBridge.Core.Observers;
using UserBridge.Core.Ports;

namespace UserBridge.Capture;

/// <summary>What the writer needs to encode a copy, carried through the ring next to its bytes.</summary>
internal readonly record struct CaptureRecord(PortSlot Port, ObserverDirection Direction, ForwardingDecision Decision, ObserverStamp Stamp, int OriginalLength);
