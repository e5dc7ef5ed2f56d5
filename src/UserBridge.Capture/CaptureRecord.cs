using UserBridge.Core;
using UserBridge.Core.Taps;

namespace UserBridge.Capture;

/// <summary>What the writer needs to encode a copy, carried through the ring next to its bytes.</summary>
internal readonly record struct CaptureRecord(PortSlot Port, TapDirection Direction, ForwardingDecision Decision, TapStamp Stamp, int OriginalLength);
