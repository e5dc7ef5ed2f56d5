using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;
using UserBridge.Core.Events;
using UserBridge.Core.Frames;

namespace UserBridge.Core.Learning;

/// <summary>
/// The MAC learning table: (VLAN, MAC) → port, shared by every worker without locks.
/// </summary>
/// <remarks>
/// <para><b>Layout.</b> The key is <c>mac | vid &lt;&lt; 48</c> (60 bits). It is scrambled by an invertible
/// mix (<see cref="MacKey"/>); the low bits of the mixed key pick a bucket of <see cref="SlotsPerBucket"/> slots and
/// only the remaining high bits, the tag, are stored. Because the mix is a bijection, bucket + tag identify the key
/// exactly (a quotient table), which leaves room in one 64-bit word for the tag, the port index and the flags. A whole entry therefore changes with one compare-and-swap:
/// readers can never see a key paired with another key's port (no torn entries), and no lock is needed.
/// Each slot is a 16-byte cell: the word and the entry's last-seen time, so a bucket (four cells) is exactly one
/// 64-byte cache line and a frame's source (learn or refresh) and destination (lookup and age check) cost two lines.
/// That is what the decision rate depends on once the table outgrows the caches: words and times in two parallel
/// arrays cost four lines (58 ns against 44 ns per decision at 1 M entries in <c>DecisionScaleBenchmarks</c>). The
/// cells live in <see cref="TableMemory"/>: page-aligned, zeroed lazily by the kernel, and in transparent huge pages
/// where the kernel allows them, which spares a large table most of its TLB misses.</para>
/// <para><b>Learning.</b> A frame from a known (VLAN, MAC) on the same port only refreshes the last-seen time,
/// and only when it is older than the refresh interval, so steady traffic does not write shared cache lines.
/// A known MAC on another port moves at once (a station move). A new MAC takes an empty slot of its bucket.</para>
/// <para><b>Aging.</b> A dynamic entry not seen for <see cref="AgingTime"/> is treated as absent by lookups
/// at once, and removed by <see cref="Sweep"/>, which the control plane calls periodically.</para>
/// <para><b>Bound and eviction.</b> The table holds at most <see cref="Capacity"/> entries. When it is full, a
/// dynamic entry of the port that holds the most entries is evicted to make room (fair eviction, as Open vSwitch
/// does: a port flooding random source MACs evicts its own entries, never the other ports' stations). When only the
/// new MAC's bucket is full, the new MAC replaces the least recently seen dynamic entry of its bucket. Both count
/// as evictions. Static entries are never evicted; if a bucket holds only static entries
/// the new MAC is not learned (counted as a learn failure) and frames to it are flooded. Eviction inside the
/// bucket keeps the cost O(1) under a MAC-flooding attack; the slot count is four times the capacity
/// (rounded up to a power of two) so that a bucket fills before the table only rarely.</para>
/// <para><b>Thread safety.</b> Any number of threads may call <see cref="Learn"/> and <c>Lookup</c>
/// concurrently with the control plane's <see cref="AddStatic"/>, <see cref="Remove"/>, <see cref="FlushPort"/>,
/// <see cref="Sweep"/> and <see cref="GetEntries"/>. Two benign races are accepted and documented: a
/// last-seen refresh that loses a race with a slot being reused may refresh the new occupant once (it then
/// lives at most one refresh interval longer); and two threads learning the same new MAC at the same instant
/// may both insert it, in which case the copy in the higher slot is removed by whichever notices it, and is
/// never used meanwhile because every scan takes the first match.</para>
/// </remarks>
public sealed unsafe partial class MacTable
{
    public const int SlotsPerBucket = 4;

    /// <summary>Port indexes are stored in 12 bits.</summary>
    public const int MaxPorts = 4096;

    public const int DefaultCapacity = 65536;

    public static readonly TimeSpan DefaultAgingTime = TimeSpan.FromSeconds(300);

    private const int MinBucketBits = 10;
    private const ulong OccupiedBit = 1;
    private const ulong StaticBit = 2;
    private const int PortShift = 2;
    private const ulong PortMask = MaxPorts - 1;
    private const int TagShift = 14;

    private readonly TableMemory _memory;
    private readonly Cell* _cells;

    // Learned (dynamic) entries per port index, changed with every compare-and-swap that gives a slot to a port or takes
    // it away. Static entries are the operator's and count toward neither a port's limit nor eviction.
    private readonly int[] _portCounts = new int[MaxPorts];

    // One more than the highest port index that ever held an entry: how far eviction looks for the largest port.
    private int _portSpan;

    // The slot where the next search for an entry of the largest port starts (see EvictFromLargestPort).
    private int _evictionHand;
    private readonly int _slots;
    private readonly int _bucketBits;
    private readonly long _agingMs;
    private readonly long _refreshMs;
    private readonly TimeProvider _time;
    private readonly long _startTimestamp;
    private int _count;
    private long _learned;
    private long _moved;
    private long _aged;
    private long _evicted;
    private long _learnFailures;

    /// <param name="capacity">The most entries.</param>
    /// <param name="agingTime">How long a learned entry lives unrefreshed.</param>
    /// <param name="timeProvider">The clock (a fake one in tests).</param>
    /// <param name="adviseHugePages">Offers the table's memory to the kernel as huge pages (see <see cref="TableMemory"/>); null: none.</param>
    public MacTable(int capacity = DefaultCapacity, TimeSpan? agingTime = null, TimeProvider? timeProvider = null, Action<nint, nuint>? adviseHugePages = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(capacity, 1 << 26);
        AgingTime = agingTime ?? DefaultAgingTime;
        ArgumentOutOfRangeException.ThrowIfLessThan(AgingTime, TimeSpan.FromSeconds(1), nameof(agingTime));
        Capacity = capacity;
        var slots = (int)Math.Max(BitOperations.RoundUpToPowerOf2((uint)capacity) * 4, SlotsPerBucket << MinBucketBits);
        _bucketBits = BitOperations.Log2((uint)(slots / SlotsPerBucket));
        _slots = slots;
        _memory = new TableMemory((nuint)slots * (nuint)sizeof(Cell), adviseHugePages);
        _cells = (Cell*)_memory.Pointer;
        _agingMs = (long)AgingTime.TotalMilliseconds;
        _refreshMs = Math.Min(1000, _agingMs / 8);
        _time = timeProvider ?? TimeProvider.System;
        _startTimestamp = _time.GetTimestamp();
    }

    /// <summary>The most entries the table holds, static ones included.</summary>
    public int Capacity { get; }

    public TimeSpan AgingTime { get; }

    public int Count => Volatile.Read(ref _count);

    /// <summary>New (VLAN, MAC) entries learned.</summary>
    public long LearnedCount => Volatile.Read(ref _learned);

    /// <summary>Station moves: a known MAC seen on another port.</summary>
    public long MovedCount => Volatile.Read(ref _moved);

    public long AgedCount => Volatile.Read(ref _aged);

    public long EvictedCount => Volatile.Read(ref _evicted);

    /// <summary>Where learns, moves, evictions and age-outs of dynamic entries are published (for <c>monitor</c>); null: nowhere.</summary>
    public EventRing? Events { get; init; }

    /// <summary>MACs not learned because their bucket held only static entries.</summary>
    public long LearnFailureCount => Volatile.Read(ref _learnFailures);

    /// <summary>Milliseconds since the table was created, by its time provider: the clock of every call.</summary>
    public long NowMs => (long)_time.GetElapsedTime(_startTimestamp).TotalMilliseconds;

    /// <summary>The table's key of <paramref name="mac"/> in VLAN <paramref name="vlan"/> (see <see cref="MacKey"/>).</summary>
    public static ulong Key(MacAddress mac, int vlan) => MacKey.Of(mac, vlan);

    /// <summary>Learned (dynamic) entries on <paramref name="port"/>.</summary>
    public int CountOn(int port) => Volatile.Read(ref _portCounts[port]);

    /// <summary>
    /// Learns that <paramref name="key"/> was seen on <paramref name="port"/> at <paramref name="nowMs"/>. With
    /// <paramref name="maxMacs"/> above 0, a MAC new to the port is not learned (nor moved) there once the port holds that
    /// many entries. Concurrent learners on one port (a multi-queue port's workers) may each pass the check at the same
    /// instant, so the bound can be exceeded by at most one entry per such worker.
    /// </summary>
    public LearnResult Learn(ulong key, int port, long nowMs, int maxMacs = 0)
    {
        var (bucket, tag) = MacKey.Split(key, _bucketBits);
        var first = bucket * SlotsPerBucket;
        var word = MakeWord(tag, port, isStatic: false);
        while (true)
        {
            var slot = Find(first, tag);
            if (slot < 0)
            {
                return maxMacs > 0 && CountOn(port) >= maxMacs ? LearnResult.PortLimit : Insert(first, tag, word, nowMs);
            }

            var current = Volatile.Read(ref _cells[slot].Word);
            if (TagOf(current) != tag || (current & OccupiedBit) == 0)
            {
                continue;
            }

            if (PortOf(current) == port)
            {
                RefreshIfStale(slot, nowMs);
                return LearnResult.Refreshed;
            }

            if ((current & StaticBit) != 0)
            {
                return LearnResult.StaticConflict;
            }

            if (maxMacs > 0 && CountOn(port) >= maxMacs)
            {
                return LearnResult.PortLimit;
            }

            // Store the time before publishing the move: the CAS is a full fence, so a sweeper that sees
            // the new word also sees a fresh time and cannot age the entry out on a stale one.
            Volatile.Write(ref _cells[slot].LastSeenMs, nowMs);
            if (Interlocked.CompareExchange(ref _cells[slot].Word, word, current) == current)
            {
                Reassigned(current, word);
                Interlocked.Increment(ref _moved);
                Events?.Publish(new BridgeEvent(BridgeEventKind.Moved, key, port, PortOf(current), null));
                return LearnResult.Moved;
            }
        }
    }

    /// <summary>Returns the port of <paramref name="key"/>, or -1 when it is unknown or has aged out.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Lookup(ulong key, long nowMs)
    {
        var (bucket, tag) = MacKey.Split(key, _bucketBits);
        var first = bucket * SlotsPerBucket;
        var slot = Find(first, tag);
        if (slot < 0)
        {
            return -1;
        }

        var word = Volatile.Read(ref _cells[slot].Word);
        if ((word & OccupiedBit) == 0 || TagOf(word) != tag)
        {
            return -1;
        }

        if ((word & StaticBit) == 0 && nowMs - Volatile.Read(ref _cells[slot].LastSeenMs) > _agingMs)
        {
            return -1;
        }

        return PortOf(word);
    }

    public int Lookup(MacAddress mac, int vlan) => Lookup(Key(mac, vlan), NowMs);

    /// <summary>
    /// Asks the processor to start loading <paramref name="key"/>'s bucket (its entries and their times), without
    /// waiting for it. Prefetching the keys of a whole batch before deciding any of its frames overlaps the cache (and TLB) misses
    /// of a large table instead of taking them one after another. A no-op where there is no prefetch instruction.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Prefetch(ulong key)
    {
        if (!Sse.IsSupported)
        {
            return;
        }

        var first = MacKey.Split(key, _bucketBits).Bucket * SlotsPerBucket;
        Sse.Prefetch0(_cells + first);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Find(int first, ulong tag)
    {
        var cells = _cells;
        for (var i = first; i < first + SlotsPerBucket; i++)
        {
            var word = Volatile.Read(ref cells[i].Word);
            if ((word & OccupiedBit) != 0 && (word >> TagShift) == tag)
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>Publishes what happened to the dynamic entry <paramref name="word"/> in <paramref name="slot"/> (static ones are the operator's own doing).</summary>
    private void Report(BridgeEventKind kind, int slot, ulong word)
    {
        if (Events is { Enabled: true } events && (word & StaticBit) == 0)
        {
            events.Publish(new BridgeEvent(kind, KeyAt(slot, word), PortOf(word), -1, null));
        }
    }

    private void RefreshIfStale(int slot, long nowMs)
    {
        // Only write when the time moved by more than the refresh interval: steady traffic then reads the
        // shared cache line but does not bounce it between cores.
        if (nowMs - Volatile.Read(ref _cells[slot].LastSeenMs) > _refreshMs)
        {
            Volatile.Write(ref _cells[slot].LastSeenMs, nowMs);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong TagOf(ulong word) => word >> TagShift;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int PortOf(ulong word) => (int)((word >> PortShift) & PortMask);

    private static ulong MakeWord(ulong tag, int port, bool isStatic) =>
        (tag << TagShift) | ((ulong)(uint)port << PortShift) | (isStatic ? StaticBit : 0) | OccupiedBit;

    /// <summary>One slot: its entry word and the entry's last-seen time, side by side in one cache line.</summary>
    private struct Cell
    {
        public ulong Word;
        public long LastSeenMs;
    }
}
