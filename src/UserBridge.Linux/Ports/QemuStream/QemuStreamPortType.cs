using UserBridge.Core.Learning;

namespace UserBridge.Linux.Ports.QemuStream;

/// <summary>
/// <c>type = "qemu-stream"</c>: QEMU's <c>-netdev stream</c> over a unix socket (a 4-byte length, then the frame). The
/// switch listens (one VM, or with <c>multi</c> a port per VM) or connects to a QEMU that listens, and reconnects.
/// </summary>
public sealed class QemuStreamPortType : IPortType
{
    private QemuStreamPortType()
    {
    }

    public static QemuStreamPortType Instance { get; } = new();

    public string Name => "qemu-stream";

    public string Description => "QEMU's -netdev stream on a unix socket: the switch listens (a port per VM with multi) or connects to a QEMU that listens";

    public IReadOnlyList<PortKey> Keys { get; } =
    [
        new("path", "the unix socket (required, absolute)"),
        new("role", "\"listen\" (QEMU connects with server=off; the default) or \"connect\" (QEMU listens with server=on)"),
        new("multi", "with role listen: every VM that connects becomes port NAME-1, NAME-2, ... (default false: one VM)", PortKeyKind.Flag),
        new("max_connections", $"with multi: the most VMs at once, 1 to {MacTable.MaxPorts} (default {QemuStreamListener.DefaultMaxConnections})", PortKeyKind.Number, 1, MacTable.MaxPorts),
        new("mode", "the socket file's mode, octal (default \"0600\")"),
        new("group", "the socket file's group (default the switch's)"),
    ];

    public bool VlanChangesInPlace => false;

    public PortSettings? Read(PortSettingsReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var before = reader.ErrorCount;
        var path = reader.SocketPath();

        var role = reader.Text("role") ?? QemuStreamSettings.RoleListen;
        if (role is not (QemuStreamSettings.RoleListen or QemuStreamSettings.RoleConnect))
        {
            reader.Error("role", $"role \"{role}\" is not known; allowed: \"listen\" (QEMU connects with server=off) or \"connect\" (QEMU listens with server=on)");
        }

        var multi = reader.Flag("multi", absent: false);
        if (multi && role != QemuStreamSettings.RoleListen)
        {
            reader.Error("multi", "multi = true needs role = \"listen\" (one socket the switch listens on, many VMs)");
        }

        var maxConnections = reader.Number("max_connections", 1, MacTable.MaxPorts, absent: QemuStreamListener.DefaultMaxConnections);
        if (reader.Has("max_connections") && !multi)
        {
            reader.Error("max_connections", "max_connections needs multi = true (a socket without it serves one VM)");
        }

        var mode = reader.SocketMode();
        var group = reader.Text("group");
        return path is null || reader.ErrorCount > before
            ? null
            : new QemuStreamSettings(path) { Role = role, Multi = multi, MaxConnections = maxConnections, Mode = mode, Group = group };
    }

    public IDisposable Open(PortSettings settings, PortOpening opening)
    {
        ArgumentNullException.ThrowIfNull(opening);
        var stream = (QemuStreamSettings)settings;
        if (stream.Role == QemuStreamSettings.RoleConnect)
        {
            var connector = QemuStreamConnector.Start(opening.Bridge, opening.Name, stream.Path, opening.Vlan, opening.Guard, opening.Logger, opening.Announce);
            opening.Announce($"port {opening.Name}: qemu-stream connecting to QEMU at {stream.Path}");
            return connector;
        }

        var listener = QemuStreamListener.Start(opening.Bridge, opening.Name, stream.Path, stream.Multi, stream.MaxConnections, stream.Mode, stream.Group, opening.Vlan, opening.Guard, opening.Logger, opening.Announce);
        opening.Announce($"port {opening.Name}: qemu-stream listening on {stream.Path}{(stream.Multi ? $" (one port per VM, at most {stream.MaxConnections})" : string.Empty)}");
        return listener;
    }

    public IReadOnlyList<PortAccess> Access(PortSettings settings) => [PortAccess.Path(((QemuStreamSettings)settings).Path)];
}
