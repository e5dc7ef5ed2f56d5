using System.Buffers.Binary;
using BenchmarkDotNet.Attributes;
using UserBridge.Core.Forwarding;
using UserBridge.Core.Frames;
using UserBridge.Core.Learning;
using UserBridge.Core.Ports;
using UserBridge.Core.Switching;
using UserBridge.Linux.Interop;

namespace UserBridge.Benchmarks;

/// <summary>
/// The forwarding decision for known unicast as the MAC table grows from 1 K to 1 M entries, with sources and
/// destinations drawn at random from the whole table (every frame a different pair, so at 1 M entries the table's
/// cache misses are real): the decision rate a switch keeps when it serves a million stations at once.
/// </summary>
/// <remarks>
/// Each frame's addresses are first written into a worker-sized batch of 64-byte buffers, as a port's read leaves a
/// frame in a pooled buffer that is in cache: only the table is cold. (A million separate frame arrays would add a
/// million cache misses on the frames themselves at 1 M entries and none at 1 K, which a switch does not have.)
/// </remarks>
[MemoryDiagnoser]
public class DecisionScaleBenchmarks
{
    private const int FramesPerInvoke = 1024;
    private const int BatchSize = 32;
    private const int PortCount = 4;
    private const int Seed = 42;

    private ForwardingEngine _engine = null!;
    private BridgeSnapshot _snapshot = null!;
    private MacAddress[] _addresses = [];
    private byte[][] _batch = [];
    private int _offset;

    [Params(1_000, 1_000_000)]
    public int Entries { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(Seed);
        var table = new MacTable(capacity: Entries, adviseHugePages: HugePages.Advise);
        _engine = new ForwardingEngine(table);
        var slots = new PortSlot?[PortCount];
        for (var port = 0; port < PortCount; port++)
        {
            slots[port] = new PortSlot(port, new MemoryPort($"p{port}", keepSent: false), new PortCounters(), IsUp: true);
        }

        _snapshot = new BridgeSnapshot(slots, version: 1);
        var nowMs = table.NowMs;
        var local = new List<MacAddress>();
        var remote = new List<MacAddress>();
        var seen = new HashSet<ulong>();
        while (seen.Count < Entries)
        {
            var mac = new MacAddress(((ulong)random.NextInt64() & 0xFEFF_FFFF_FFFFUL) | 0x0200_0000_0000UL);
            if (seen.Add(mac.Value))
            {
                var port = seen.Count % PortCount;
                table.Learn(MacTable.Key(mac, 0), port, nowMs);
                (port == 0 ? local : remote).Add(mac);
            }
        }

        // Only stations still in the table (a full bucket evicted some while filling), sources on the ingress port.
        local.RemoveAll(mac => table.Lookup(MacTable.Key(mac, 0), nowMs) != 0);
        remote.RemoveAll(mac => table.Lookup(MacTable.Key(mac, 0), nowMs) <= 0);
        var frames = Math.Max(Entries, FramesPerInvoke);
        _addresses = new MacAddress[2 * frames];
        for (var i = 0; i < frames; i++)
        {
            _addresses[2 * i] = remote[random.Next(remote.Count)];
            _addresses[(2 * i) + 1] = local[random.Next(local.Count)];
        }

        _batch = new byte[BatchSize][];
        for (var i = 0; i < BatchSize; i++)
        {
            _batch[i] = GC.AllocateArray<byte>(64, pinned: true);
            BinaryPrimitives.WriteUInt16BigEndian(_batch[i].AsSpan(12), 0x0800);
        }
    }

    [Benchmark(OperationsPerInvoke = FramesPerInvoke)]
    public int DecideKnownUnicast() => Run(prefetch: false);

    /// <summary>As a worker does it: each batch of 32 frames' entries prefetched first, then the frames decided.</summary>
    [Benchmark(OperationsPerInvoke = FramesPerInvoke)]
    public int DecideBatchesWithPrefetch() => Run(prefetch: true);

    private int Run(bool prefetch)
    {
        var nowMs = _engine.MacTable.NowMs;
        var egressSum = 0;
        var frames = _addresses.Length / 2;
        var offset = _offset;
        for (var first = 0; first < FramesPerInvoke; first += BatchSize)
        {
            for (var i = 0; i < BatchSize; i++)
            {
                var frame = (offset + first + i) % frames;
                _addresses[2 * frame].Write(_batch[i]);
                _addresses[(2 * frame) + 1].Write(_batch[i].AsSpan(6));
                if (prefetch)
                {
                    _engine.Prefetch(_snapshot, 0, _batch[i]);
                }
            }

            for (var i = 0; i < BatchSize; i++)
            {
                egressSum += _engine.Decide(_snapshot, 0, _batch[i], nowMs).EgressPort;
            }
        }

        _offset = (offset + FramesPerInvoke) % frames;
        return egressSum;
    }
}
