namespace UserBridge.Core.Forwarding;

public enum ForwardingAction
{
    Drop,
    Forward,
    Flood,
}

/// <summary>Why a frame was flooded.</summary>
public enum FloodReason
{
    None,
    Broadcast,
    Multicast,
    UnknownUnicast,
}

/// <summary>The outcome of the forwarding decision for one frame.</summary>
public readonly record struct ForwardingDecision(ForwardingAction Action, int EgressPort, int Vlan, DropReason DropReason, FloodReason FloodReason)
{
    /// <summary>In VLAN-aware mode, the service tag the frame arrived with (stripped, kept or rewritten on egress).</summary>
    public VlanClassification Ingress { get; init; }

    public static ForwardingDecision Drop(DropReason reason, int vlan = 0) => new(ForwardingAction.Drop, -1, vlan, reason, FloodReason.None);

    public static ForwardingDecision Forward(int port, int vlan) => new(ForwardingAction.Forward, port, vlan, DropReason.None, FloodReason.None);

    public static ForwardingDecision Flood(FloodReason reason, int vlan) => new(ForwardingAction.Flood, -1, vlan, DropReason.None, reason);
}
