using UserBridge.Linux.Files;

namespace UserBridge.Linux.Ports.QemuDgram;

/// <summary>A <c>qemu-dgram</c> port's settings: the socket it binds, and where it sends when not to the VM's address.</summary>
public sealed record QemuDgramSettings(string Path) : PortSettings
{
    /// <summary>Where to send, instead of the address frames come from.</summary>
    public string? Remote { get; init; }

    /// <summary>The mode of the socket file the switch creates.</summary>
    public UnixFileMode Mode { get; init; } = SocketFile.DefaultMode;

    /// <summary>The group of the socket file the switch creates (null: the switch's own).</summary>
    public string? Group { get; init; }

    public override string EndpointKind => "path";

    public override string Endpoint => Path;

    public override string? DefaultName => System.IO.Path.GetFileNameWithoutExtension(Path);
}
