using UserBridge.Linux.Ports.Overlay;
using UserBridge.Linux.Ports.Packet;
using UserBridge.Linux.Ports.QemuDgram;
using UserBridge.Linux.Ports.QemuStream;
using UserBridge.Linux.Ports.Tap;
using UserBridge.Linux.Ports.VhostUser;

namespace UserBridge.Linux.Ports;

/// <summary>The registry of port types: the config rules, the CLI's help and the README's key table read it.</summary>
public static class PortTypes
{
    /// <summary>Every type, the default (<c>tap</c>) first.</summary>
    public static IReadOnlyList<IPortType> All { get; } =
    [
        TapPortType.Instance,
        PacketPortType.Instance,
        QemuStreamPortType.Instance,
        QemuDgramPortType.Instance,
        OverlayPortType.Vxlan,
        OverlayPortType.Geneve,
        VhostUserPortType.Instance,
    ];

    /// <summary>The type a port has when its config names none.</summary>
    public static IPortType Default => All[0];

    /// <summary>The type named <paramref name="name"/>, or null.</summary>
    public static IPortType? Find(string name) => All.FirstOrDefault(type => type.Name == name);

    /// <summary>The names, for errors and help.</summary>
    public static IEnumerable<string> Names => All.Select(type => type.Name);
}
