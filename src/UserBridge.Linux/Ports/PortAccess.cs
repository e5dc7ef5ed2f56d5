namespace UserBridge.Linux.Ports;

/// <summary>One thing a port opens on the host, checked against the <c>runtime_ports</c> patterns of its kind.</summary>
public readonly record struct PortAccess(PortAccessKind Kind, string Value)
{
    public static PortAccess Interface(string name) => new(PortAccessKind.Interface, name);

    public static PortAccess Path(string path) => new(PortAccessKind.Path, path);
}

/// <summary>The kinds of <see cref="PortAccess"/>: an interface (<c>runtime_ports.interfaces</c>) or a path (<c>runtime_ports.paths</c>).</summary>
public enum PortAccessKind
{
    Interface,
    Path,
}
