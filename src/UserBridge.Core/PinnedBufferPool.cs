using System.Collections.Concurrent;

namespace UserBridge.Core;

/// <summary>
/// Pinned byte arrays by exact length, for the buffers that come and go with a port rather than with a frame (a QEMU
/// stream connection's receive buffer and send ring slots, three quarters of a megabyte, and its worker's scratch
/// buffers, a quarter): a VM that reconnects reuses
/// its last connection's memory instead of leaving it on the pinned heap, where each new connection's would count
/// toward the next full (gen2) collection and the RSS would creep up. Keeps
/// at most <see cref="MaxRetainedBytes"/>; beyond that, returned arrays are left to the garbage collector.
/// </summary>
/// <remarks>
/// An array may be returned only when nothing can touch it any more: its owner was disposed after the bridge waited
/// for every worker to leave the batch that could still use it.
/// </remarks>
public static class PinnedBufferPool
{
    public const long MaxRetainedBytes = 64L << 20;

    private static readonly ConcurrentDictionary<int, ConcurrentBag<byte[]>> Free = new();
    private static long s_retained;

    /// <summary>A pinned array of exactly <paramref name="length"/> bytes; its content is whatever its last user left.</summary>
    public static byte[] Rent(int length)
    {
        if (Free.TryGetValue(length, out var arrays) && arrays.TryTake(out var array))
        {
            Interlocked.Add(ref s_retained, -length);
            return array;
        }

        return GC.AllocateArray<byte>(length, pinned: true);
    }

    /// <summary>Takes <paramref name="array"/> back for the next <see cref="Rent"/> of its length.</summary>
    public static void Return(byte[] array)
    {
        ArgumentNullException.ThrowIfNull(array);
        if (Interlocked.Add(ref s_retained, array.Length) > MaxRetainedBytes)
        {
            Interlocked.Add(ref s_retained, -array.Length);
            return;
        }

        Free.GetOrAdd(array.Length, static _ => []).Add(array);
    }
}
