using UserBridge.Linux.Files;

namespace UserBridge.Linux.Ports.VhostUser;

/// <summary>A <c>vhost-user</c> port's settings: its socket, who listens on it, and how many queue pairs it serves.</summary>
public sealed record VhostUserSettings(string Path) : PortSettings
{
    /// <summary>The switch listens; QEMU connects (<c>-chardev socket,path=P</c>, no <c>server=on</c>).</summary>
    public const string RoleServer = "server";

    /// <summary>QEMU listens (<c>server=on</c>); the switch connects and reconnects, so VMs outlive a switch restart.</summary>
    public const string RoleClient = "client";

    public string Role { get; init; } = RoleServer;

    /// <summary>The most queue pairs the port offers (<c>GET_QUEUE_NUM</c>).</summary>
    public int Queues { get; init; } = 1;

    /// <summary>The mode of the socket file the switch creates (server role).</summary>
    public UnixFileMode Mode { get; init; } = SocketFile.DefaultMode;

    /// <summary>The group of the socket file the switch creates (null: the switch's own).</summary>
    public string? Group { get; init; }

    public override string EndpointKind => "path";

    public override string Endpoint => Path;

    public override string? DefaultName => System.IO.Path.GetFileNameWithoutExtension(Path);

    public override bool ExistsOnlyWhileConnected => true;
}
