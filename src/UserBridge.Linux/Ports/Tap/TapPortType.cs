using UserBridge.Linux.Host;

namespace UserBridge.Linux.Ports.Tap;

/// <summary><c>type = "tap"</c> (the default): a TAP device the switch owns, created when absent or a persistent one attached.</summary>
public sealed class TapPortType : IPortType
{
    /// <summary>The most queues of a multi-queue TAP (the kernel's limit is 256; more than cores buys nothing).</summary>
    public const int MaxQueues = 16;

    private TapPortType()
    {
    }

    public static TapPortType Instance { get; } = new();

    public string Name => "tap";

    public string Description => "a TAP device the switch owns: created when absent (removed on exit), or a persistent one attached";

    public IReadOnlyList<PortKey> Keys { get; } =
    [
        new("interface", "the TAP to create or attach (required)"),
        new("offload", "virtio-net headers with checksum and TSO/USO offloads, 64 KiB frames whole (default true)", PortKeyKind.Flag),
        new("queues", $"1 to {MaxQueues}; more than 1 opens a multi-queue TAP with a worker per queue (default 1)", PortKeyKind.Number, 1, MaxQueues),
    ];

    public bool VlanChangesInPlace => true;

    public PortSettings? Read(PortSettingsReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var before = reader.ErrorCount;
        var interfaceName = reader.Interface();
        if (interfaceName is null && reader.ErrorCount == before)
        {
            reader.Error(null, "[[port]] has no interface; add interface = \"IFNAME\" (the TAP to create or attach)");
        }

        var offload = reader.Flag("offload", absent: true);
        var queues = reader.Number("queues", 1, MaxQueues, absent: 1);
        return interfaceName is null || reader.ErrorCount > before ? null : new TapSettings(interfaceName) { Offload = offload, Queues = queues };
    }

    public IDisposable Open(PortSettings settings, PortOpening opening)
    {
        ArgumentNullException.ThrowIfNull(opening);
        var tap = (TapSettings)settings;
        var port = CapabilityBroker.Run(() => TapPort.Open(tap.Interface, opening.Name, tap.Offload, tap.Queues));
        var joined = opening.Join(port);
        var origin = port.Created ? "created; removed on exit" : port.Persistent ? "attached, persistent; kept on exit" : "attached";
        opening.Announce($"port {port.Name} up: tap {port.Interface} ({origin}{(port.AcceptsOffloads ? ", offloads" : string.Empty)}{(port.QueueCount > 1 ? $", {port.QueueCount} queues" : string.Empty)})");
        return joined;
    }

    public IReadOnlyList<PortAccess> Access(PortSettings settings) => [PortAccess.Interface(((TapSettings)settings).Interface)];
}
