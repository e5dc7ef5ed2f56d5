using UserBridge.Core.Learning;
using UserBridge.Core.Switching;

namespace UserBridge.Core.Ports;

/// <summary>
/// Why a connection could not become a port: counted switch-wide (<see cref="Bridge.Refusals"/>), because a refused
/// connection never had a port to count it on.
/// </summary>
public enum PortRefusal
{
    /// <summary>The socket already serves as many connections as its <c>max_connections</c> allows.</summary>
    ConnectionLimit,

    /// <summary>A socket without <c>multi</c> already serves a VM.</summary>
    Busy,

    /// <summary>The switch holds as many ports as it can (<see cref="MacTable.MaxPorts"/>).</summary>
    SwitchFull,

    /// <summary>The port's name was taken by another port as the connection arrived.</summary>
    NameTaken,
}

/// <summary>The stable names of <see cref="PortRefusal"/> used in JSON and metrics.</summary>
public static class PortRefusals
{
    public static IReadOnlyList<PortRefusal> All { get; } = [PortRefusal.ConnectionLimit, PortRefusal.Busy, PortRefusal.SwitchFull, PortRefusal.NameTaken];

    public static string Name(PortRefusal refusal) => refusal switch
    {
        PortRefusal.ConnectionLimit => "connection_limit",
        PortRefusal.Busy => "busy",
        PortRefusal.SwitchFull => "switch_full",
        PortRefusal.NameTaken => "name_taken",
        _ => throw new ArgumentOutOfRangeException(nameof(refusal), refusal, null),
    };
}
