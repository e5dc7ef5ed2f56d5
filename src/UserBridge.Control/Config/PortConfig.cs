using UserBridge.Core.Ports;
using UserBridge.Linux.Ports;
using UserBridge.Linux.Ports.Tap;

namespace UserBridge.Control.Config;

/// <summary>
/// One <c>[[port]]</c> (or <c>port add</c>): what every port has (its name, type, VLAN settings and guards) and what its
/// type read from its own keys (<see cref="Settings"/>). <see cref="Line"/> is where it was declared (0 when it came
/// from a flag or the management socket).
/// </summary>
public sealed record PortConfig(string Name, IPortType Type, PortSettings Settings, int Line = 0)
{
    /// <summary>802.1Q settings; null when the port has none (then it is an access port of VLAN 1 if the switch is VLAN-aware).</summary>
    public PortVlan? Vlan { get; init; }

    /// <summary>The port's guards (<c>bpdu_guard</c>, <c>max_macs</c>, <c>storm</c>, <c>mtu</c>).</summary>
    public PortGuard Guard { get; init; } = PortGuard.None;

    /// <summary>What the port is attached to: the interface, the socket path, the underlay address.</summary>
    public string Endpoint => Settings.Endpoint;

    /// <summary>A <c>tap</c> port on <paramref name="interfaceName"/> with the defaults (<c>run --tap</c>).</summary>
    public static PortConfig Tap(string interfaceName, string? name = null) => new(name ?? interfaceName, TapPortType.Instance, new TapSettings(interfaceName));
}
