using UserBridge.Control.Config;

namespace UserBridge.Control.Management;

/// <summary>
/// What the management socket allows its clients: how many at once, in all and per uid; how long a reply may wait for a
/// client that does not read it; and which ports a client other than root may add. Every client holds one file
/// descriptor and a few kilobytes; the limits keep a flood of them (a runaway script, a hostile member of the control
/// group) from taking the descriptors the ports, captures and the runtime itself need.
/// </summary>
public sealed record ManagementOptions
{
    public const int DefaultMaxClients = 256;

    public const int DefaultMaxClientsPerUser = 64;

    /// <summary>The highest <c>max_clients</c> and <c>max_clients_per_user</c> the config accepts.</summary>
    public const int MaxClientsLimit = 65536;

    /// <summary>
    /// How much a streaming client (<c>monitor</c>, <c>capture stream</c>) may send after its request before it is cut
    /// off: such a client has nothing more to say but the end of its input, so what it sends is thrown away unread.
    /// </summary>
    public const int StreamInputLimitBytes = 64 * 1024;

    /// <summary>The fewest file descriptors kept for everything but management clients.</summary>
    public const int MinReservedFds = 64;

    public static readonly TimeSpan DefaultReplyDeadline = TimeSpan.FromSeconds(10);

    /// <summary>The most clients connected at once (<c>max_clients</c>).</summary>
    public int MaxClients { get; init; } = DefaultMaxClients;

    /// <summary>The most clients of one uid connected at once (<c>max_clients_per_user</c>); root's count too.</summary>
    public int MaxClientsPerUser { get; init; } = DefaultMaxClientsPerUser;

    /// <summary>
    /// How long the switch waits for a client to take each piece of a reply (16 KiB) before it cuts the client off:
    /// a client that sends requests and never reads their replies holds no more than that piece and the socket's own
    /// buffer, and only this long.
    /// </summary>
    public TimeSpan ReplyDeadline { get; init; } = DefaultReplyDeadline;

    /// <summary>What a client other than root may add with <c>port add</c> (<c>runtime_ports</c>).</summary>
    public RuntimePorts RuntimePorts { get; init; } = RuntimePorts.None;

    /// <summary>
    /// The file descriptors never given to management clients under a limit of <paramref name="softLimit"/>: a quarter,
    /// at least <see cref="MinReservedFds"/>. A new client is refused while the process has more than the rest open, so
    /// ports, captures, the runtime's own threads and sockets always find one (the runtime aborts the process when it
    /// cannot create a thread for want of a descriptor).
    /// </summary>
    public static long ReservedFds(long softLimit) => Math.Max(MinReservedFds, softLimit / 4);

    public static ManagementOptions From(SwitchConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return new() { MaxClients = config.MaxClients, MaxClientsPerUser = config.MaxClientsPerUser, RuntimePorts = config.RuntimePorts };
    }
}
