using UserBridge.Core.Learning;
using UserBridge.Core.Ports;

namespace UserBridge.Core.Switching;

/// <summary>Switch-wide settings.</summary>
public sealed record BridgeOptions
{
    public const string DefaultName = "ub0";

    public string Name { get; init; } = DefaultName;

    public TimeSpan AgingTime { get; init; } = MacTable.DefaultAgingTime;

    public int MacTableSize { get; init; } = MacTable.DefaultCapacity;

    /// <summary>VLAN-aware even when no port has VLAN settings (every port is then an access port of VLAN 1).</summary>
    public bool VlanFiltering { get; init; }

    /// <summary>
    /// Forward frames sent to the 802.1 link-local group (STP, LACP, LLDP, 802.1X) like other multicast, instead of
    /// dropping them: a lab mode for joining two devices that speak those protocols to each other through the switch.
    /// </summary>
    public bool ForwardLinkLocal { get; init; }

    /// <summary>
    /// Called on each port worker's thread before it reads its first frame (the host pins the thread to the
    /// configured CPUs there); null: nothing.
    /// </summary>
    public Action? WorkerStarting { get; init; }

    /// <summary>
    /// How many poller threads serve the ports that can be polled (<see cref="IPollablePort"/> with one queue): each
    /// waits on the fds of its share of the ports and forwards a batch from every ready one, run to completion. 0: a
    /// worker thread per port (and per queue). Needs <see cref="CreatePollSet"/>.
    /// </summary>
    public int Pollers { get; init; }

    /// <summary>Creates the fd set a poller waits on; null: no pollers, whatever <see cref="Pollers"/> says.</summary>
    public Func<IPollSet>? CreatePollSet { get; init; }

    /// <summary>
    /// Offers a range of the MAC table's memory (address, length in bytes) to the kernel as transparent huge pages before
    /// it is touched (<c>madvise</c> on Linux, which Core does not call itself); null: no advice.
    /// </summary>
    public Action<nint, nuint>? AdviseHugePages { get; init; }
}
