namespace UserBridge.Linux.Ports.VhostUser;

/// <summary>
/// <c>type = "vhost-user"</c>: a QEMU VM's virtio-net device on shared memory. The switch listens on the socket
/// (<c>role = "server"</c>) or connects to a QEMU that listens (<c>role = "client"</c>, reconnecting), and reads and
/// writes the guest's rings directly.
/// </summary>
public sealed class VhostUserPortType : IPortType
{
    public const string TypeName = "vhost-user";

    private VhostUserPortType()
    {
    }

    public static VhostUserPortType Instance { get; } = new();

    public string Name => TypeName;

    public string Description => "a QEMU VM on shared memory (vhost-user): the switch listens (role server) or connects to a QEMU that listens (role client, reconnecting)";

    public IReadOnlyList<PortKey> Keys { get; } =
    [
        new("path", "the unix socket (required, absolute)"),
        new("role", "\"server\" (the switch listens; QEMU's -chardev socket without server=on; the default) or \"client\" (QEMU listens with server=on; the switch reconnects, so VMs outlive a switch restart)"),
        new("queues", $"the most queue pairs the VM may use, 1 to {VhostUserProtocol.MaxQueuePairs} (default 1; QEMU's queues=N)", PortKeyKind.Number, 1, VhostUserProtocol.MaxQueuePairs),
        new("mode", "the socket file's mode with role server, octal (default \"0600\")"),
        new("group", "the socket file's group with role server (default the switch's)"),
    ];

    public bool VlanChangesInPlace => false;

    public PortSettings? Read(PortSettingsReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var before = reader.ErrorCount;
        var path = reader.SocketPath();
        var role = reader.Text("role") ?? VhostUserSettings.RoleServer;
        if (role is not (VhostUserSettings.RoleServer or VhostUserSettings.RoleClient))
        {
            reader.Error("role", $"role \"{role}\" is not known; allowed: \"server\" (the switch listens) or \"client\" (QEMU listens with server=on)");
        }

        var queues = reader.Number("queues", 1, VhostUserProtocol.MaxQueuePairs, absent: 1);
        var mode = reader.SocketMode();
        var group = reader.Text("group");
        if (role == VhostUserSettings.RoleClient && (reader.Has("group") || (reader.Has("mode") && mode != Files.SocketFile.DefaultMode)))
        {
            reader.Error(reader.Has("group") ? "group" : "mode", "mode and group set the socket file the switch creates, which it does only with role = \"server\"");
        }

        return path is null || reader.ErrorCount > before
            ? null
            : new VhostUserSettings(path) { Role = role, Queues = queues, Mode = mode, Group = group };
    }

    public IDisposable Open(PortSettings settings, PortOpening opening)
    {
        ArgumentNullException.ThrowIfNull(opening);
        var vhost = (VhostUserSettings)settings;
        var endpoint = VhostUserEndpoint.Start(opening, vhost);
        opening.Announce($"port {opening.Name}: vhost-user {(vhost.Role == VhostUserSettings.RoleServer ? "listening on" : "connecting to QEMU at")} {vhost.Path}");
        return endpoint;
    }

    public IReadOnlyList<PortAccess> Access(PortSettings settings) => [PortAccess.Path(((VhostUserSettings)settings).Path)];
}
