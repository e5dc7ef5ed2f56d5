namespace UserBridge.Linux.Ports;

/// <summary>What one port type reads from its keys (<see cref="IPortType.Read"/>); a record, so that a reload compares them.</summary>
public abstract record PortSettings
{
    /// <summary>What the port attaches to: an interface, a socket path, an underlay address (names it in errors and lists).</summary>
    public abstract string Endpoint { get; }

    /// <summary>What <see cref="Endpoint"/> is, in errors: "interface", "path", "underlay socket".</summary>
    public abstract string EndpointKind { get; }

    /// <summary>The port's name when the config gives none, or null when one must be given.</summary>
    public abstract string? DefaultName { get; }

    /// <summary>
    /// True when the configured name is a port only while a peer is connected (a listening QEMU stream socket): such a
    /// port cannot be a mirror's output or a capture's source in the config.
    /// </summary>
    public virtual bool ExistsOnlyWhileConnected => false;
}
