using System.Numerics;
using BenchmarkDotNet.Attributes;
using UserBridge.Core.Frames;
using UserBridge.Core.Learning;
using UserBridge.Linux.Interop;

namespace UserBridge.Benchmarks;

/// <summary>
/// The MAC table's per-frame operations on a small and a large table: a hit, a same-port learn (a refresh)
/// and a miss, each figure per operation.
/// </summary>
/// <remarks>
/// Each invocation runs over the next window of <see cref="KeysPerInvoke"/> keys of a pool as large as the
/// table, in random order. A fixed set of 1024 keys would touch only about 128 KB of table (a bucket line and
/// a last-seen line per key) and stay in L2 even at 1 M entries, hiding the cache misses a large table costs.
/// The clock stands still (<see cref="_nowMs"/> is read once), so nothing ages and a refresh only reads:
/// the steady state, where the table rewrites a last-seen time at most once per refresh interval.
/// </remarks>
[MemoryDiagnoser]
public class MacTableBenchmarks
{
    private const int KeysPerInvoke = 1024;
    private const int PortCount = 4;
    private const int Seed = 1_048_576;
    private const ulong MulticastBit = 0x0100_0000_0000UL;

    private MacTable _table = null!;
    private ulong[] _knownKeys = [];
    private int[] _knownPorts = [];
    private ulong[] _missingKeys = [];
    private long _nowMs;
    private int _offset;

    [Params(1_000, 1_000_000)]
    public int Entries { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(Seed);
        _table = new MacTable(capacity: Entries, adviseHugePages: HugePages.Advise);
        _nowMs = _table.NowMs;

        var learned = new HashSet<ulong>(Entries);
        while (learned.Count < Entries)
        {
            var key = RandomUnicastKey(random);
            if (learned.Add(key))
            {
                _table.Learn(key, learned.Count % PortCount, _nowMs);
            }
        }

        // A bucket that overflowed while filling evicted an earlier key: sample only keys still present.
        var present = new List<ulong>(Entries);
        foreach (var key in learned)
        {
            if (_table.Lookup(key, _nowMs) >= 0)
            {
                present.Add(key);
            }
        }

        var order = present.ToArray();
        random.Shuffle(order);
        var poolSize = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(Entries, KeysPerInvoke));
        _knownKeys = new ulong[poolSize];
        _knownPorts = new int[poolSize];
        _missingKeys = new ulong[poolSize];
        for (var i = 0; i < poolSize; i++)
        {
            _knownKeys[i] = order[i % order.Length];
            _knownPorts[i] = _table.Lookup(_knownKeys[i], _nowMs);
        }

        for (var i = 0; i < poolSize;)
        {
            var key = RandomUnicastKey(random);
            if (!learned.Contains(key))
            {
                _missingKeys[i++] = key;
            }
        }
    }

    [Benchmark(OperationsPerInvoke = KeysPerInvoke)]
    public int LookupHit()
    {
        var table = _table;
        var nowMs = _nowMs;
        var portSum = 0;
        foreach (var key in _knownKeys.AsSpan(NextWindow(), KeysPerInvoke))
        {
            portSum += table.Lookup(key, nowMs);
        }

        return portSum;
    }

    [Benchmark(OperationsPerInvoke = KeysPerInvoke)]
    public int LearnRefresh()
    {
        var table = _table;
        var nowMs = _nowMs;
        var offset = NextWindow();
        var keys = _knownKeys.AsSpan(offset, KeysPerInvoke);
        var ports = _knownPorts.AsSpan(offset, KeysPerInvoke);
        var refreshed = 0;
        for (var i = 0; i < keys.Length; i++)
        {
            if (table.Learn(keys[i], ports[i], nowMs) == LearnResult.Refreshed)
            {
                refreshed++;
            }
        }

        return refreshed;
    }

    [Benchmark(OperationsPerInvoke = KeysPerInvoke)]
    public int LookupMiss()
    {
        var table = _table;
        var nowMs = _nowMs;
        var portSum = 0;
        foreach (var key in _missingKeys.AsSpan(NextWindow(), KeysPerInvoke))
        {
            portSum += table.Lookup(key, nowMs);
        }

        return portSum;
    }

    private static ulong RandomUnicastKey(Random random) =>
        MacTable.Key(new MacAddress((ulong)random.NextInt64(1L << 48) & ~MulticastBit), vlan: 0);

    private int NextWindow()
    {
        var offset = _offset;
        _offset = (offset + KeysPerInvoke) & (_knownKeys.Length - 1);
        return offset;
    }
}
