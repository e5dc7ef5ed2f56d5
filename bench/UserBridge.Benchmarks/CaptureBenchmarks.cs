using System.Buffers.Binary;
using BenchmarkDotNet.Attributes;
using UserBridge.Capture;
using UserBridge.Core.Frames;
using UserBridge.Core.Learning;
using UserBridge.Core.Ports;
using UserBridge.Core.Switching;
using UserBridge.Core.Workers;

namespace UserBridge.Benchmarks;

/// <summary>
/// What capture costs: encoding one Enhanced Packet Block (64-byte frame, direction, packet id, comment), running a
/// BPF filter on a frame, and the worker's decide-and-send of a known-unicast frame while a capture of every port
/// copies it into the ring (the writer thread drains the ring into Stream.Null meanwhile).
/// </summary>
[MemoryDiagnoser]
public class CaptureBenchmarks
{
    private const int BatchSize = 32;

    private readonly byte[] _frame = new byte[64];
    private readonly WorkerContext _context = new();
    private PcapngWriter _writer = null!;
    private PacketFilter _filter = null!;
    private Bridge _bridge = null!;
    private CaptureSession _session = null!;
    private ulong _packetId;

    [GlobalSetup]
    public void Setup()
    {
        var destination = new MacAddress(0x0200_0000_0002);
        destination.Write(_frame);
        new MacAddress(0x0200_0000_0001).Write(_frame.AsSpan(6));
        BinaryPrimitives.WriteUInt16BigEndian(_frame.AsSpan(12), 0x0800);
        _frame[14] = 0x45;
        _frame[23] = 1;

        _writer = new PcapngWriter(Stream.Null);
        _writer.AddInterface("p1", "tap ub-p1", CaptureOptions.DefaultSnapLength);
        _filter = PacketFilter.Compile("icmp or arp");

        _bridge = new Bridge(new BridgeOptions());
        _bridge.AddPort(new MemoryPort("p1", keepSent: false));
        _bridge.AddPort(new MemoryPort("p2", keepSent: false));
        _bridge.MacTable.Learn(MacTable.Key(destination, 0), 1, _bridge.MacTable.NowMs);
        _session = CaptureSession.Start(1, _bridge, new CaptureOptions { RingCapacity = 4096 }, new StreamCaptureOutput(Stream.Null, "null"));
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _session.Stop();
        _session.Completion.Wait();
        _session.Dispose();
        _bridge.Dispose();
        _filter.Dispose();
    }

    [Benchmark]
    public void EncodePacketBlock() => _writer.WritePacket(0, 1_764_338_400_000_000_000, _frame, _frame.Length, PacketDirection.Outbound, ++_packetId, "forward: learned on p2 vlan 10");

    [Benchmark]
    public bool BpfFilterMatch() => _filter.Matches(_frame);

    [Benchmark(OperationsPerInvoke = BatchSize)]
    public int DecideAndSendWhileCapturing()
    {
        var snapshot = _bridge.Snapshot;
        var nowMs = _bridge.MacTable.NowMs;
        var forwarded = 0;
        for (var i = 0; i < BatchSize; i++)
        {
            forwarded += (int)_bridge.Engine.Process(snapshot, 0, _frame, default, _context, nowMs).Action;
        }

        return forwarded;
    }
}
