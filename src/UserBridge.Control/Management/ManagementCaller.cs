using UserBridge.Control.Config;

namespace UserBridge.Control.Management;

/// <summary>
/// Who sent a management request: the client's uid from its socket (SO_PEERCRED), and the ports it may add.
/// <see cref="AllowedPorts"/> is null for a client trusted with any port: root, the user who started a switch that never
/// changed users (the switch can do nothing that user cannot), and callers inside the process (tests, the CLI's lab).
/// </summary>
public sealed record ManagementCaller(int Uid, RuntimePorts? AllowedPorts)
{
    /// <summary>A caller inside the switch's own process: trusted like root.</summary>
    public static ManagementCaller InProcess { get; } = new(0, null);
}
