namespace UserBridge.Core;

/// <summary>
/// A port's protections against what its stations send: BPDU guard, the limit on the MACs learned on it, storm control.
/// Immutable; part of the port's <see cref="PortSlot"/>, so a change publishes a new snapshot.
/// </summary>
public sealed record PortGuard
{
    public static PortGuard None { get; } = new();

    /// <summary>Take the port down when a spanning-tree BPDU arrives on it (an edge port that finds a switch).</summary>
    public bool BpduGuard { get; init; }

    /// <summary>The most MAC entries the port may hold (<c>max_macs</c>); 0: no limit but the table's.</summary>
    public int MaxMacs { get; init; }

    /// <summary>What a frame from a MAC new to a port at its limit does (<c>on_limit</c>).</summary>
    public MacLimitAction OnLimit { get; init; } = MacLimitAction.Drop;

    /// <summary>Flood rate limits (<c>storm</c>).</summary>
    public StormLimits Storm { get; init; }
}

/// <summary>What happens to a frame whose source would be one MAC too many on its port.</summary>
public enum MacLimitAction
{
    /// <summary>Dropped (counted as <see cref="DropReason.MacLimit"/>): the port's known stations go on, new ones cannot talk.</summary>
    Drop,

    /// <summary>Forwarded without learning its source; counted and reported in the periodic drop report.</summary>
    Log,

    /// <summary>Dropped, and the port taken down until <c>port set P --up</c>.</summary>
    Shutdown,
}
