using UserBridge.Core.Frames;

namespace UserBridge.Core.Events;

/// <summary>What happened, for <c>monitor</c>.</summary>
public enum BridgeEventKind
{
    /// <summary>A new (VLAN, MAC) was learned on <see cref="BridgeEvent.Port"/>.</summary>
    Learned,

    /// <summary>A known MAC was seen on another port: from <see cref="BridgeEvent.FromPort"/> to <see cref="BridgeEvent.Port"/>.</summary>
    Moved,

    /// <summary>An entry was not seen for the aging time and was removed.</summary>
    Aged,

    /// <summary>An entry was pushed out to make room for a new one (its bucket or the table was full).</summary>
    Evicted,

    /// <summary>A port was added (its name in <see cref="BridgeEvent.Text"/>).</summary>
    PortAdded,

    /// <summary>A port was removed.</summary>
    PortRemoved,

    /// <summary>A port went up (administratively, or its far end came back).</summary>
    PortUp,

    /// <summary>A port went down (administratively, or it failed).</summary>
    PortDown,

    /// <summary>A reload applied a new configuration (<see cref="BridgeEvent.Text"/>: what changed).</summary>
    ConfigApplied,
}

/// <summary>
/// One event. MAC events carry the table's key (<see cref="Mac"/>, <see cref="Vlan"/>) and port indexes, resolved to
/// names by whoever reads them; port events carry the port's name in <see cref="Text"/>, and a configuration change
/// what changed. A struct with no allocation, so that workers can publish the rare learn, move and eviction without
/// allocating.
/// </summary>
public readonly record struct BridgeEvent(BridgeEventKind Kind, ulong Key, int Port, int FromPort, string? Text)
{
    public MacAddress Mac => new(Key & 0xFFFF_FFFF_FFFFUL);

    public int Vlan => (int)(Key >> 48);

    public static BridgeEvent ForPort(BridgeEventKind kind, string name, int index) => new(kind, 0, index, -1, name);

    public static BridgeEvent ConfigApplied(string changes) => new(BridgeEventKind.ConfigApplied, 0, -1, -1, changes);
}
