using UserBridge.Core.Forwarding;
using UserBridge.Core.Frames;

namespace UserBridge.Core.Ports;

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

    /// <summary>
    /// The port's MTU (<c>mtu</c>): frames longer than it plus an Ethernet header and two VLAN tags are dropped as
    /// <see cref="DropReason.TooLong"/>, unless offloaded (GSO). <see cref="NoMtu"/>: no limit below 64 KiB.
    /// </summary>
    public int Mtu { get; init; } = NoMtu;

    /// <summary>The longest frame the port takes that is not offloaded.</summary>
    public int MaxFrameLength => Mtu + EthernetFrame.HeaderLength + (2 * EthernetFrame.VlanTagLength);

    /// <summary>No MTU of the switch's own: a frame may be as long as a port can carry (64 KiB on a QEMU stream).</summary>
    public const int NoMtu = 65535;
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
