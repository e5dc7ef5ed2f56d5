using System.Runtime.CompilerServices;
using UserBridge.Core.Switching;

namespace UserBridge.Core.Learning;

/// <summary>
/// The memory of a large lookup table: a pinned array used from its first 64-byte boundary (so a bucket is one cache
/// line), whose whole 2 MiB pages are offered to the kernel as transparent huge pages before anything touches them.
/// </summary>
/// <remarks>
/// A table of a million entries spans 64 MiB; in 4 KiB pages nearly every random lookup also misses the TLB, and under
/// a hypervisor a TLB miss is a two-level page walk. With <c>MADV_HUGEPAGE</c> the same table is 32 pages that stay in
/// the TLB (41 ns against 44 ns per decision at 1 M entries). The garbage collector hands out a fresh large pinned
/// array untouched, so the advice applies when the pages are first written; where huge pages are disabled
/// (<c>/sys/kernel/mm/transparent_hugepage/enabled</c> = never) the advice is refused and ignored. The array keeps the
/// memory alive as long as the owner holds this object, so no pointer into it can outlive it. Core makes no system
/// call: the advice is the host's to give (<see cref="BridgeOptions.AdviseHugePages"/>, <c>madvise</c> on Linux).
/// </remarks>
internal sealed unsafe class TableMemory
{
    private const int CacheLineBytes = 64;
    private const nuint HugePageBytes = 2 << 20;

    private readonly long[] _store;

    /// <param name="bytes">The usable size.</param>
    /// <param name="adviseHugePages">Told each whole 2 MiB-aligned range of the memory before it is touched; null: no advice.</param>
    public TableMemory(nuint bytes, Action<nint, nuint>? adviseHugePages = null)
    {
        _store = GC.AllocateArray<long>(checked((int)((bytes + CacheLineBytes) / sizeof(long))), pinned: true);
        var start = (nuint)Unsafe.AsPointer(ref _store[0]);
        Pointer = (void*)((start + CacheLineBytes - 1) & ~(nuint)(CacheLineBytes - 1));
        var firstHuge = (start + HugePageBytes - 1) & ~(HugePageBytes - 1);
        var endHuge = (start + ((nuint)_store.Length * sizeof(long))) & ~(HugePageBytes - 1);
        if (endHuge > firstHuge && adviseHugePages is not null)
        {
            adviseHugePages((nint)firstHuge, endHuge - firstHuge);
        }
    }

    /// <summary>The first 64-byte boundary of the memory; <c>bytes</c> from here are usable, zeroed.</summary>
    public void* Pointer { get; }
}
