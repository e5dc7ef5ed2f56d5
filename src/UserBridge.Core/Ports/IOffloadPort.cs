using UserBridge.Core.Offload;

namespace UserBridge.Core.Ports;

/// <summary>
/// A port that can take frames with their virtio-net header: 64 KiB GSO frames and unfinished checksums are
/// handed over whole and finished by the kernel or the peer. Frames for other ports are segmented and
/// checksummed in software first.
/// </summary>
public interface IOffloadPort
{
    /// <summary>False when the port could take offloads in principle but was opened without them.</summary>
    bool AcceptsOffloads { get; }

    bool Send(ReadOnlySpan<byte> frame, in VirtioNetHeader offload);
}
