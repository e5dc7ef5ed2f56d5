using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using UserBridge.Core.Observers;
using UserBridge.Core.Ports;

namespace UserBridge.Core.Switching;

/// <summary>
/// The immutable state the workers forward with. The control plane builds a new one for every change and
/// publishes it with one volatile write (<see cref="Bridge"/>); a worker reads the current one once per batch.
/// </summary>
public sealed class BridgeSnapshot
{
    public static BridgeSnapshot Empty { get; } = new([], 0);

    private static readonly int[] NoPorts = [];

    /// <summary>Builds a snapshot; VLAN-aware when <paramref name="vlanFiltering"/> or any port has VLAN settings.</summary>
    public BridgeSnapshot(PortSlot?[] ports, long version, bool vlanFiltering = false, ObserverSet? taps = null, bool forwardLinkLocal = false)
    {
        ArgumentNullException.ThrowIfNull(ports);
        Ports = ports;
        Version = version;
        Taps = taps;
        ForwardLinkLocal = forwardLinkLocal;
        VlanAware = vlanFiltering || ports.Any(slot => slot is { HasVlanSettings: true });
        FloodByVlan = VlanAware ? BuildVlanFloodLists(ports) : [];
        var flood = new List<int>(ports.Length);
        foreach (var slot in ports)
        {
            if (slot is { IsUp: true, IsMirrorOutput: false })
            {
                flood.Add(slot.Index);
            }
        }

        FloodPorts = [.. flood];
    }

    /// <summary>Ports by index; removed ports leave a null until their index is reused.</summary>
    public PortSlot?[] Ports { get; }

    /// <summary>The indexes of the ports that are up (mirror outputs aside): where broadcast and unknown unicast go.</summary>
    public int[] FloodPorts { get; }

    public long Version { get; }

    /// <summary>The captures and mirrors taking copies, per port; null when there are none.</summary>
    public ObserverSet? Taps { get; }

    /// <summary>Whether link-local group frames are forwarded (<see cref="BridgeOptions.ForwardLinkLocal"/>) or dropped.</summary>
    public bool ForwardLinkLocal { get; }

    /// <summary>False: VLAN-transparent (tags pass unchanged, learning under each frame's VID). True: 802.1Q rules.</summary>
    public bool VlanAware { get; }

    /// <summary>When VLAN-aware: for each VID, the indexes of the up ports that carry it.</summary>
    public int[][] FloodByVlan { get; }

    /// <summary>Where a flood of <paramref name="vlan"/> goes.</summary>
    public int[] FloodPortsOf(int vlan) => VlanAware ? FloodByVlan[vlan] : FloodPorts;

    /// <summary>
    /// The port at <paramref name="index"/>, if there is one: false for an index out of range (a port removed since the
    /// caller learned it, a snapshot from before it was added) or a hole a removed port left. On the data path: inlined,
    /// one bounds check.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryGetPort(int index, [NotNullWhen(true)] out PortSlot? slot)
    {
        var ports = Ports;
        slot = (uint)index < (uint)ports.Length ? ports[index] : null;
        return slot is not null;
    }

    public PortSlot? Find(string name)
    {
        foreach (var slot in Ports)
        {
            if (slot is not null && slot.Name == name)
            {
                return slot;
            }
        }

        return null;
    }

    private static int[][] BuildVlanFloodLists(PortSlot?[] ports)
    {
        var lists = new List<int>?[4096];
        foreach (var slot in ports)
        {
            if (slot is not { IsUp: true, IsMirrorOutput: false })
            {
                continue;
            }

            foreach (var vid in slot.Vlan.Vlans())
            {
                (lists[vid] ??= []).Add(slot.Index);
            }
        }

        var flood = new int[4096][];
        for (var vid = 0; vid < flood.Length; vid++)
        {
            flood[vid] = lists[vid] is { } members ? [.. members] : NoPorts;
        }

        return flood;
    }
}
