using UserBridge.Core.Workers;
using UserBridge.Linux.Host;
using UserBridge.Linux.Interop;

namespace UserBridge.Linux.Ports.Packet;

/// <summary>
/// <c>type = "packet"</c>: an existing interface (a VM's own TAP, a veth) through an AF_PACKET socket. A supervisor
/// keeps it: the port waits while the interface is missing and re-attaches when it comes back.
/// </summary>
public sealed class PacketPortType : IPortType
{
    private PacketPortType()
    {
    }

    public static PacketPortType Instance { get; } = new();

    public string Name => "packet";

    public string Description => "an existing interface (a VM's own TAP, a veth) attached with an AF_PACKET socket; re-attached when it comes back";

    public IReadOnlyList<PortKey> Keys { get; } = [new("interface", "the existing interface to attach (required)")];

    public bool VlanChangesInPlace => false;

    public PortSettings? Read(PortSettingsReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var before = reader.ErrorCount;
        var interfaceName = reader.Interface();
        if (interfaceName is null && reader.ErrorCount == before)
        {
            reader.Error(null, "[[port]] has no interface; add interface = \"IFNAME\" (the existing interface to attach: a VM's TAP, a veth)");
        }

        return interfaceName is null || reader.ErrorCount > before ? null : new PacketSettings(interfaceName);
    }

    public IDisposable Open(PortSettings settings, PortOpening opening)
    {
        ArgumentNullException.ThrowIfNull(opening);
        var interfaceName = ((PacketSettings)settings).Interface;
        return new PortSupervisor(
            opening.Bridge,
            opening.Name,
            Name,
            interfaceName,
            $"interface {interfaceName} to exist",
            opening.Vlan,
            opening.Guard,
            () => NetDevice.Exists(interfaceName) ? CapabilityBroker.Run(() => PacketSocketPort.Open(interfaceName, opening.Name)) : null,
            opening.Announce);
    }

    public IReadOnlyList<PortAccess> Access(PortSettings settings) => [PortAccess.Interface(((PacketSettings)settings).Interface)];
}
