using System.Buffers.Binary;
using BenchmarkDotNet.Attributes;
using UserBridge.Core.Forwarding;
using UserBridge.Core.Frames;
using UserBridge.Core.Learning;
using UserBridge.Core.Offload;
using UserBridge.Core.Ports;
using UserBridge.Core.Switching;
using UserBridge.Core.Workers;

namespace UserBridge.Benchmarks;

/// <summary>
/// The per-frame data path on a 4-port switch: the forwarding decision for known unicast and for broadcast,
/// and decide-and-send for known unicast. Figures are per 64-byte frame; each invocation is one batch of
/// 32 frames received on port 0, with one clock reading per batch as the port worker does.
/// </summary>
[MemoryDiagnoser]
public class ForwardingBenchmarks
{
    private const int BatchSize = 32;
    private const int FrameLength = 64;
    private const int PortCount = 4;
    private const int HostsPerPort = 8;
    private const int IngressPort = 0;
    private const ushort EtherTypeIpv4 = 0x0800;

    private ForwardingEngine _engine = null!;
    private readonly WorkerContext _context = new();
    private BridgeSnapshot _snapshot = null!;
    private MemoryPort[] _ports = [];
    private byte[][] _unicastFrames = [];
    private byte[][] _broadcastFrames = [];

    [GlobalSetup]
    public void Setup()
    {
        var table = new MacTable();
        _engine = new ForwardingEngine(table);
        _ports = new MemoryPort[PortCount];
        var slots = new PortSlot?[PortCount];
        var nowMs = table.NowMs;
        for (var port = 0; port < PortCount; port++)
        {
            _ports[port] = new MemoryPort($"p{port}", keepSent: false);
            slots[port] = new PortSlot(port, _ports[port], new PortCounters(), IsUp: true);
            for (var host = 0; host < HostsPerPort; host++)
            {
                table.Learn(MacTable.Key(HostMac(port, host), vlan: 0), port, nowMs);
            }
        }

        _snapshot = new BridgeSnapshot(slots, version: 1);
        _unicastFrames = new byte[BatchSize][];
        _broadcastFrames = new byte[BatchSize][];
        for (var i = 0; i < BatchSize; i++)
        {
            var source = HostMac(IngressPort, i % HostsPerPort);
            _unicastFrames[i] = BuildFrame(HostMac(1 + (i % (PortCount - 1)), i / (PortCount - 1) % HostsPerPort), source);
            _broadcastFrames[i] = BuildFrame(MacAddress.Broadcast, source);
        }

        foreach (var frame in _unicastFrames)
        {
            if (_engine.Decide(_snapshot, IngressPort, frame, nowMs).Action != ForwardingAction.Forward)
            {
                throw new InvalidOperationException("a known-unicast benchmark frame was not forwarded: the setup is wrong");
            }
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var port in _ports)
        {
            port.Dispose();
        }
    }

    [Benchmark(OperationsPerInvoke = BatchSize)]
    public int DecideKnownUnicast() => DecideBatch(_unicastFrames);

    [Benchmark(OperationsPerInvoke = BatchSize)]
    public int DecideBroadcast() => DecideBatch(_broadcastFrames);

    [Benchmark(OperationsPerInvoke = BatchSize)]
    public int ProcessKnownUnicast()
    {
        var engine = _engine;
        var snapshot = _snapshot;
        var nowMs = engine.MacTable.NowMs;
        var egressSum = 0;
        var context = _context;
        foreach (var frame in _unicastFrames)
        {
            // The worker's overload: its own context, no offload (what PortWorker calls per frame).
            egressSum += engine.Process(snapshot, IngressPort, frame, VirtioNetHeader.None, context, nowMs).EgressPort;
        }

        return egressSum;
    }

    private static MacAddress HostMac(int port, int host) =>
        new(0x0200_0000_0000UL | ((ulong)(uint)port << 8) | (uint)host);

    private static byte[] BuildFrame(MacAddress destination, MacAddress source)
    {
        var frame = new byte[FrameLength];
        destination.Write(frame);
        source.Write(frame.AsSpan(MacAddress.Length));
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(2 * MacAddress.Length), EtherTypeIpv4);
        return frame;
    }

    private int DecideBatch(byte[][] frames)
    {
        var engine = _engine;
        var snapshot = _snapshot;
        var nowMs = engine.MacTable.NowMs;
        var egressSum = 0;
        foreach (var frame in frames)
        {
            egressSum += engine.Decide(snapshot, IngressPort, frame, nowMs).EgressPort;
        }

        return egressSum;
    }
}
