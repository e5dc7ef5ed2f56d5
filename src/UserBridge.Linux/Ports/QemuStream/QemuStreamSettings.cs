using UserBridge.Linux.Files;

namespace UserBridge.Linux.Ports.QemuStream;

/// <summary>A <c>qemu-stream</c> port's settings: its socket, who listens, and for a listening socket how many VMs it serves.</summary>
public sealed record QemuStreamSettings(string Path) : PortSettings
{
    /// <summary>The switch listens; QEMU connects (<c>server=off</c>).</summary>
    public const string RoleListen = "listen";

    /// <summary>QEMU listens (<c>server=on</c>); the switch connects, and reconnects.</summary>
    public const string RoleConnect = "connect";

    public string Role { get; init; } = RoleListen;

    /// <summary>With <see cref="RoleListen"/>: every connection becomes a port NAME-1, NAME-2, ...</summary>
    public bool Multi { get; init; }

    /// <summary>With <see cref="Multi"/>: the most connections served at once; more are refused.</summary>
    public int MaxConnections { get; init; } = QemuStreamListener.DefaultMaxConnections;

    /// <summary>The mode of the socket file the switch creates.</summary>
    public UnixFileMode Mode { get; init; } = SocketFile.DefaultMode;

    /// <summary>The group of the socket file the switch creates (null: the switch's own).</summary>
    public string? Group { get; init; }

    public override string EndpointKind => "path";

    public override string Endpoint => Path;

    public override string? DefaultName => System.IO.Path.GetFileNameWithoutExtension(Path);

    public override bool ExistsOnlyWhileConnected => Role == RoleListen;
}
