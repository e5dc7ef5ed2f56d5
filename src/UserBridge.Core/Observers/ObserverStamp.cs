namespace UserBridge.Core.Observers;

/// <summary>
/// What every copy of one frame shares: the packet id (the ingress copy and each egress copy carry the same one)
/// and the time the switch took the frame in.
/// </summary>
public readonly record struct ObserverStamp(ulong PacketId, long TimestampNs);
