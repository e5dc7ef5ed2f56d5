using UserBridge.Core.Offload;

namespace UserBridge.Core;

/// <summary>
/// One pooled frame buffer. Ports pin its array only for the system call that fills or sends it (<c>fixed</c>) and
/// keep no pointer into it after: not pinned for good, the array can be compacted away when the pool lets it go (see
/// <see cref="BufferPool"/>), where one on the pinned object heap would keep its whole region resident.
/// </summary>
public sealed class PacketBuffer
{
    internal PacketBuffer(int capacity) => Array = GC.AllocateUninitializedArray<byte>(capacity);

    /// <summary>The whole buffer.</summary>
    public byte[] Array { get; }

    /// <summary>Where the frame starts in <see cref="Array"/>. A port type that never sets it (most) always finds 0:
    /// a port worker's buffers serve one port only, and a poller puts it (and <see cref="Offload"/>) back to the default
    /// after each port's batch.</summary>
    public int Offset { get; set; }

    /// <summary>The number of valid bytes (the frame's length), set by the port that filled it.</summary>
    public int Length { get; set; }

    /// <summary>The virtio-net header the frame arrived with (GSO, partial checksum), or none.</summary>
    public VirtioNetHeader Offload { get; set; }

    public Span<byte> Frame => Array.AsSpan(Offset, Length);
}
