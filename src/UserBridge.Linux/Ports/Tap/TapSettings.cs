namespace UserBridge.Linux.Ports.Tap;

/// <summary>A <c>tap</c> port's settings: the TAP, its offloads and queues.</summary>
public sealed record TapSettings(string Interface) : PortSettings
{
    /// <summary>Virtio-net headers with checksum and TSO/USO offloads: 64 KiB frames pass whole.</summary>
    public bool Offload { get; init; } = true;

    /// <summary>The number of queues (<c>IFF_MULTI_QUEUE</c> when more than 1), one worker each.</summary>
    public int Queues { get; init; } = 1;

    public override string EndpointKind => "interface";

    public override string Endpoint => Interface;

    public override string? DefaultName => Interface;
}
