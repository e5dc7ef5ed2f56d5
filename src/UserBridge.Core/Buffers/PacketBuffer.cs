using UserBridge.Core.Offload;

namespace UserBridge.Core.Buffers;

/// <summary>
/// One pooled frame buffer. The array is pinned (allocated on the pinned object heap, not zeroed): the collector never
/// moves it, so its pages become resident only as frames are written into them, where a movable one would be copied
/// whole, touching every page, each time a collection compacts.
/// </summary>
public sealed class PacketBuffer
{
    internal PacketBuffer(int capacity) => Array = GC.AllocateUninitializedArray<byte>(capacity, pinned: true);

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
