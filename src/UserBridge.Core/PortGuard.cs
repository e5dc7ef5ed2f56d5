namespace UserBridge.Core;

/// <summary>
/// A port's protections against what its stations send: BPDU guard, and later the limits on learned MACs and floods.
/// Immutable; part of the port's <see cref="PortSlot"/>, so a change publishes a new snapshot.
/// </summary>
public sealed record PortGuard
{
    public static PortGuard None { get; } = new();

    /// <summary>Take the port down when a spanning-tree BPDU arrives on it (an edge port that finds a switch).</summary>
    public bool BpduGuard { get; init; }
}
