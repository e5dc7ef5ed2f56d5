using UserBridge.Core.Forwarding;
using UserBridge.Core.Switching;

namespace UserBridge.Core.Ports;

/// <summary>
/// A port as the data path sees it in one <see cref="BridgeSnapshot"/>: immutable; a change of state makes a
/// new slot in a new snapshot. The counters object is shared by every slot of the same port.
/// </summary>
public sealed record PortSlot(int Index, IPort Port, PortCounters Counters, bool IsUp)
{
    public string Name => Port.Name;

    /// <summary>The port's VLAN settings (used when the switch is VLAN-aware).</summary>
    public PortVlan Vlan { get; init; } = PortVlan.Default;

    /// <summary>True when the port was given VLAN settings, which makes the whole switch VLAN-aware.</summary>
    public bool HasVlanSettings { get; init; }

    /// <summary>True when the port is a mirror's output: it is sent copies only, never learned on or flooded to.</summary>
    public bool IsMirrorOutput { get; init; }

    /// <summary>The port's protections: BPDU guard, MAC limit, storm control (whose state a new guard resets).</summary>
    public PortGuard Guard
    {
        get;
        init
        {
            field = value;
            Storm = StormControl.For(value.Storm);
        }
    } = PortGuard.None;

    /// <summary>The port's flood rate limiter; null when it has none.</summary>
    public StormControl? Storm { get; private init; }
}
