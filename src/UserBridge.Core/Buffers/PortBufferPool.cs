using System.Runtime;

namespace UserBridge.Core.Buffers;

/// <summary>
/// Byte arrays by exact length, for the buffers that come and go with a port rather than with a frame (a QEMU stream
/// connection's receive buffer and send ring slots, three quarters of a megabyte, and its worker's scratch buffers, a
/// quarter): a VM that reconnects reuses its last connection's memory instead of allocating more, which would count
/// toward the next full (gen2) collection and let the RSS creep up. Keeps at most <see cref="MaxRetainedBytes"/>;
/// beyond that, and those no port took for a whole sweep (<see cref="FreeList{T}"/>), are left to the garbage
/// collector. Renting and returning take a lock: they come with ports, never with frames.
/// </summary>
/// <remarks>
/// <para>
/// An array may be returned only when nothing can touch it any more: its owner was disposed after the bridge waited
/// for every worker to leave the batch that could still use it.
/// </para>
/// <para>
/// The arrays are not pinned: their users pin them only for the system call that reads or writes them (<c>fixed</c>),
/// and no pointer into them outlives a call. Pinned arrays would live on the pinned object heap, which is never
/// compacted: after a burst of 500 connections left, the few arrays still in use among theirs kept every region
/// resident, and the half gigabyte never went back to the system even after full collections. Unpinned, the big ones
/// sit on the large object heap, which <see cref="Trim"/> compacts.
/// </para>
/// <para>
/// The switch allocates so little that a full collection may not come for hours. <see cref="Trim"/> (the bridge's
/// periodic sweep calls it) collects, compacting the large object heap and giving free memory back to the system, once
/// the arrays left to the collector since the last trim reach <see cref="TrimThresholdBytes"/>, or once a burst is over
/// (some were left, and none since the last sweep): a burst's memory goes back within a sweep or two, and a steady
/// trickle of reconnects (which the pool absorbs) never causes a collection.
/// </para>
/// </remarks>
public static class PortBufferPool
{
    public const long MaxRetainedBytes = 64L << 20;

    /// <summary>How much memory left to the collector makes <see cref="Trim"/> collect it.</summary>
    public const long TrimThresholdBytes = 32L << 20;

    private static readonly Dictionary<int, FreeList<byte[]>> Free = [];
    private static readonly Lock FreeLock = new();
    private static long s_retained;
    private static long s_abandoned;
    private static readonly Lock TrimLock = new();
    private static long s_abandonedAtLastTrim;

    /// <summary>An array of exactly <paramref name="length"/> bytes; its content is whatever its last user left.</summary>
    public static byte[] Rent(int length)
    {
        lock (FreeLock)
        {
            if (Free.TryGetValue(length, out var arrays) && arrays.TryPop(out var array))
            {
                s_retained -= length;
                return array;
            }
        }

        return GC.AllocateUninitializedArray<byte>(length);
    }

    /// <summary>Takes <paramref name="array"/> back for the next <see cref="Rent"/> of its length.</summary>
    public static void Return(byte[] array)
    {
        ArgumentNullException.ThrowIfNull(array);
        lock (FreeLock)
        {
            if (s_retained + array.Length > MaxRetainedBytes)
            {
                Abandon(array.Length);
                return;
            }

            s_retained += array.Length;
            if (!Free.TryGetValue(array.Length, out var arrays))
            {
                Free[array.Length] = arrays = new FreeList<byte[]>();
            }

            arrays.Push(array);
        }
    }

    /// <summary>Counts memory left to the collector (here or by another pool) toward the next <see cref="Trim"/>.</summary>
    public static void Abandon(long bytes) => Interlocked.Add(ref s_abandoned, bytes);

    /// <summary>
    /// Lets go of the free arrays no port took since the last call, then collects what the pools let go, once that is at
    /// least <see cref="TrimThresholdBytes"/> or nothing more was let go since the last call, and gives the memory back
    /// to the system; returns whether it collected. A blocking full collection (a few milliseconds on the switch's small
    /// heap), so the control plane calls it, at most once per sweep.
    /// </summary>
    public static bool Trim()
    {
        lock (FreeLock)
        {
            foreach (var arrays in Free.Values)
            {
                arrays.TrimIdle(static array =>
                {
                    s_retained -= array.Length;
                    Abandon(array.Length);
                });
            }
        }

        lock (TrimLock)
        {
            var abandoned = Interlocked.Read(ref s_abandoned);
            var burstOver = abandoned > 0 && abandoned == s_abandonedAtLastTrim;
            s_abandonedAtLastTrim = abandoned;
            if (abandoned < TrimThresholdBytes && !burstOver)
            {
                return false;
            }

            Interlocked.Add(ref s_abandoned, -abandoned);
            s_abandonedAtLastTrim = 0;
        }

        GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        return true;
    }
}
