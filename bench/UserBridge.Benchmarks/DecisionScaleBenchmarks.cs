using System.Buffers.Binary;
using BenchmarkDotNet.Attributes;
using UserBridge.Core;

namespace UserBridge.Benchmarks;

/// <summary>
/// The forwarding decision for known unicast as the MAC table grows from 1 K to 1 M entries, with sources and
/// destinations drawn at random from the whole table (every frame a different pair, so at 1 M entries the table's
/// cache misses are real): the decision rate a switch keeps when it serves a million stations at once.
/// </summary>
[MemoryDiagnoser]
public class DecisionScaleBenchmarks
{
    private const int FramesPerInvoke = 1024;
    private const int BatchSize = 32;
    private const int PortCount = 4;
    private const int Seed = 42;

    private ForwardingEngine _engine = null!;
    private SwitchSnapshot _snapshot = null!;
    private byte[][] _frames = [];
    private int _offset;

    [Params(1_000, 1_000_000)]
    public int Entries { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(Seed);
        var table = new MacTable(capacity: Entries);
        _engine = new ForwardingEngine(table);
        var slots = new PortSlot?[PortCount];
        for (var port = 0; port < PortCount; port++)
        {
            slots[port] = new PortSlot(port, new MemoryPort($"p{port}", keepSent: false), new PortCounters(), IsUp: true);
        }

        _snapshot = new SwitchSnapshot(slots, version: 1);
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
        _frames = new byte[Math.Max(Entries, FramesPerInvoke)][];
        for (var i = 0; i < _frames.Length; i++)
        {
            var frame = new byte[64];
            remote[random.Next(remote.Count)].Write(frame);
            local[random.Next(local.Count)].Write(frame.AsSpan(6));
            BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(12), 0x0800);
            _frames[i] = frame;
        }
    }

    [Benchmark(OperationsPerInvoke = FramesPerInvoke)]
    public int DecideKnownUnicast()
    {
        var nowMs = _engine.MacTable.NowMs;
        var egressSum = 0;
        var offset = _offset;
        for (var i = 0; i < FramesPerInvoke; i++)
        {
            egressSum += _engine.Decide(_snapshot, 0, _frames[(offset + i) % _frames.Length], nowMs).EgressPort;
        }

        _offset = (offset + FramesPerInvoke) % _frames.Length;
        return egressSum;
    }

    /// <summary>As a port worker does it: each batch of 32 frames' entries prefetched first, then the frames decided.</summary>
    [Benchmark(OperationsPerInvoke = FramesPerInvoke)]
    public int DecideBatchesWithPrefetch()
    {
        var nowMs = _engine.MacTable.NowMs;
        var egressSum = 0;
        var offset = _offset;
        for (var batch = 0; batch < FramesPerInvoke; batch += BatchSize)
        {
            for (var i = batch; i < batch + BatchSize; i++)
            {
                _engine.Prefetch(_snapshot, 0, _frames[(offset + i) % _frames.Length]);
            }

            for (var i = batch; i < batch + BatchSize; i++)
            {
                egressSum += _engine.Decide(_snapshot, 0, _frames[(offset + i) % _frames.Length], nowMs).EgressPort;
            }
        }

        _offset = (offset + FramesPerInvoke) % _frames.Length;
        return egressSum;
    }
}
