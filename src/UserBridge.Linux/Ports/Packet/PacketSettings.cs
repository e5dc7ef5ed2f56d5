namespace UserBridge.Linux.Ports.Packet;

/// <summary>A <c>packet</c> port's settings: the existing interface it attaches to.</summary>
public sealed record PacketSettings(string Interface) : PortSettings
{
    public override string EndpointKind => "interface";

    public override string Endpoint => Interface;

    public override string? DefaultName => Interface;
}
