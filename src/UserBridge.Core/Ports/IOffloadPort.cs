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

    /// <summary>
    /// Whether a frame with <paramref name="offload"/> may go whole; when not, the engine segments it and finishes its
    /// checksum first. A port whose peer negotiated some offloads and not others (a vhost-user guest) says which; by
    /// default every offload when the port accepts offloads at all.
    /// </summary>
    bool Accepts(in VirtioNetHeader offload) => AcceptsOffloads;
}
