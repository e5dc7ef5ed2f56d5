namespace UserBridge.Linux.Ports.QemuDgram;

/// <summary><c>type = "qemu-dgram"</c>: QEMU's <c>-netdev dgram</c> over unix datagram sockets, one frame per datagram.</summary>
public sealed class QemuDgramPortType : IPortType
{
    private QemuDgramPortType()
    {
    }

    public static QemuDgramPortType Instance { get; } = new();

    public string Name => "qemu-dgram";

    public string Description => "QEMU's -netdev dgram on unix datagram sockets: both ends bound, so it survives a restart of either";

    public IReadOnlyList<PortKey> Keys { get; } =
    [
        new("path", "the socket the switch binds (required, absolute)"),
        new("remote", "the VM's socket to send to (default: the address the VM sends from)"),
        new("mode", "the socket file's mode, octal (default \"0600\")"),
        new("group", "the socket file's group (default the switch's)"),
    ];

    public bool VlanChangesInPlace => true;

    public PortSettings? Read(PortSettingsReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var before = reader.ErrorCount;
        var path = reader.SocketPath();

        var remote = reader.Text("remote");
        var mode = reader.SocketMode();
        var group = reader.Text("group");
        return path is null || reader.ErrorCount > before ? null : new QemuDgramSettings(path) { Remote = remote, Mode = mode, Group = group };
    }

    public IDisposable Open(PortSettings settings, PortOpening opening)
    {
        ArgumentNullException.ThrowIfNull(opening);
        var dgram = (QemuDgramSettings)settings;
        var port = QemuDgramPort.Open(opening.Name, dgram.Path, dgram.Remote, dgram.Mode, dgram.Group);
        var joined = opening.Join(port);
        opening.Announce($"port {port.Name} up: qemu-dgram {port.Interface}{(dgram.Remote is null ? " (answers the VM's address)" : $" (sends to {dgram.Remote})")}");
        return joined;
    }

    public IReadOnlyList<PortAccess> Access(PortSettings settings)
    {
        var dgram = (QemuDgramSettings)settings;
        return dgram.Remote is { } remote ? [PortAccess.Path(dgram.Path), PortAccess.Path(remote)] : [PortAccess.Path(dgram.Path)];
    }
}
