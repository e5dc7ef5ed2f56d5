using UserBridge.Core.Ports;

namespace UserBridge.Linux.Ports;

/// <summary>
/// One kind of port, in the spirit of Open vSwitch's <c>netdev_class</c>: its name, the keys it takes beyond the ones
/// every port has (name, type, VLAN settings, guards), how it reads them, how it opens, and what the rest of the
/// switch needs to know about it. Each type lives in a folder of its own beside its codec or framing; adding one is
/// that folder and a line in <see cref="PortTypes"/>.
/// </summary>
public interface IPortType
{
    /// <summary>The <c>type</c> value: <c>tap</c>, <c>qemu-stream</c>, ...</summary>
    string Name { get; }

    /// <summary>What the type is for, in one line (the CLI's help, the README's key table).</summary>
    string Description { get; }

    /// <summary>
    /// The keys of this type beyond the common ones. A type that lists <c>mode</c> takes an octal socket file mode
    /// there (a VLAN mode word stays the VLAN rules'); one that lists <c>mtu</c> or <c>group</c> gives them its own
    /// meaning (an overlay's underlay MTU and multicast group).
    /// </summary>
    IReadOnlyList<PortKey> Keys { get; }

    /// <summary>
    /// Whether a reload applies new VLAN settings to the running port in place: true for a port the type opened and added
    /// itself; false for an endpoint that adds ports as their peers come (a listener, a supervisor re-attaching): those
    /// keep the settings they were opened with, so a change re-opens them.
    /// </summary>
    bool VlanChangesInPlace { get; }

    /// <summary>Reads the type's keys; null, with the errors in <paramref name="reader"/>, when they do not make a port.</summary>
    PortSettings? Read(PortSettingsReader reader);

    /// <summary>The port's VLAN settings given its own (an overlay's <c>vni_map</c> makes it a trunk); by default the configured ones.</summary>
    PortVlan? Vlan(PortSettings settings, PortVlan? configured) => configured;

    /// <summary>
    /// Opens the port and says so (its start-up line through <see cref="PortOpening.Announce"/>): adds it to the bridge
    /// (<see cref="PortOpening.Join"/>) or starts the endpoint that adds the ports its peers make. Disposing the result
    /// closes it. Errors name the interface or path and the errno text.
    /// </summary>
    IDisposable Open(PortSettings settings, PortOpening opening);

    /// <summary>
    /// What a management client other than root must be allowed (<c>runtime_ports</c>) to add this port: the interfaces
    /// and paths it opens. Empty: only root may add it.
    /// </summary>
    IReadOnlyList<PortAccess> Access(PortSettings settings);
}
