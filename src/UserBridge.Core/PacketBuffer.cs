namespace UserBridge.Core;

/// <summary>
/// One pooled frame buffer. The array is pinned (allocated on the pinned object heap) so that ports can hand
/// its address to read/write system calls without pinning per call.
/// </summary>
public sealed class PacketBuffer
{
    internal PacketBuffer(int capacity) => Array = GC.AllocateArray<byte>(capacity, pinned: true);

    /// <summary>The whole pinned buffer.</summary>
    public byte[] Array { get; }

    /// <summary>The number of valid bytes (the frame's length), set by the port that filled it.</summary>
    public int Length { get; set; }

    public Span<byte> Frame => Array.AsSpan(0, Length);
}
