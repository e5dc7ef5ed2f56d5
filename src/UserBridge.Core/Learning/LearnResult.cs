namespace UserBridge.Core.Learning;

/// <summary>What <see cref="MacTable.Learn"/> did.</summary>
public enum LearnResult
{
    /// <summary>The entry was known on that port; its age was reset.</summary>
    Refreshed,

    /// <summary>A new entry (possibly replacing an evicted one).</summary>
    Learned,

    /// <summary>A known MAC moved to another port.</summary>
    Moved,

    /// <summary>A static entry holds the MAC on another port; it was not moved.</summary>
    StaticConflict,

    /// <summary>The MAC's bucket holds only static entries: not learned.</summary>
    Full,

    /// <summary>The port already holds its most MACs (<c>max_macs</c>): the new MAC was not learned or moved there.</summary>
    PortLimit,
}
