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
/// VLAN-aware decide-and-send of a 64-byte known-unicast frame between an access port of VLAN 10 and an 802.1Q
/// trunk: the tag pushed on the way into the trunk, popped on the way out, and kept between two access ports.
/// </summary>
[MemoryDiagnoser]
public class VlanBenchmarks
{
    private const int BatchSize = 32;
    private const int Vlan = 10;

    private static readonly MacAddress AccessHost = new(0x0200_0000_0001);
    private static readonly MacAddress TrunkHost = new(0x0200_0000_0002);
    private static readonly MacAddress OtherAccessHost = new(0x0200_0000_0003);

    private readonly WorkerContext _context = new();
    private ForwardingEngine _engine = null!;
    private BridgeSnapshot _snapshot = null!;
    private byte[] _untaggedToTrunk = [];
    private byte[] _taggedToAccess = [];
    private byte[] _untaggedToAccess = [];

    [GlobalSetup]
    public void Setup()
    {
        var table = new MacTable();
        _engine = new ForwardingEngine(table);
        var slots = new PortSlot?[]
        {
            new(0, new MemoryPort("access", keepSent: false), new PortCounters(), IsUp: true) { Vlan = PortVlan.Access(Vlan), HasVlanSettings = true },
            new(1, new MemoryPort("trunk", keepSent: false), new PortCounters(), IsUp: true) { Vlan = PortVlan.Trunk([Vlan]), HasVlanSettings = true },
            new(2, new MemoryPort("access2", keepSent: false), new PortCounters(), IsUp: true) { Vlan = PortVlan.Access(Vlan), HasVlanSettings = true },
        };
        _snapshot = new BridgeSnapshot(slots, version: 1);
        var nowMs = table.NowMs;
        table.Learn(MacTable.Key(AccessHost, Vlan), 0, nowMs);
        table.Learn(MacTable.Key(TrunkHost, Vlan), 1, nowMs);
        table.Learn(MacTable.Key(OtherAccessHost, Vlan), 2, nowMs);
        _untaggedToTrunk = Frame(TrunkHost, AccessHost, tagged: false);
        _taggedToAccess = Frame(AccessHost, TrunkHost, tagged: true);
        _untaggedToAccess = Frame(OtherAccessHost, AccessHost, tagged: false);
    }

    [Benchmark(OperationsPerInvoke = BatchSize)]
    public int PushTagIntoTrunk() => Run(0, _untaggedToTrunk);

    [Benchmark(OperationsPerInvoke = BatchSize)]
    public int PopTagOutOfTrunk() => Run(1, _taggedToAccess);

    [Benchmark(OperationsPerInvoke = BatchSize)]
    public int AccessToAccess() => Run(0, _untaggedToAccess);

    private static byte[] Frame(MacAddress destination, MacAddress source, bool tagged)
    {
        var frame = new byte[64];
        destination.Write(frame);
        source.Write(frame.AsSpan(6));
        var offset = 12;
        if (tagged)
        {
            BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(12), EthernetFrame.EtherTypeVlan);
            BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(14), Vlan);
            offset = 16;
        }

        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(offset), 0x0800);
        return frame;
    }

    private int Run(int ingressPort, byte[] frame)
    {
        var nowMs = _engine.MacTable.NowMs;
        var egressSum = 0;
        for (var i = 0; i < BatchSize; i++)
        {
            var decision = _engine.Process(_snapshot, ingressPort, frame, VirtioNetHeader.None, _context, nowMs);
            if (decision.Action != ForwardingAction.Forward)
            {
                throw new InvalidOperationException($"the benchmark frame was not forwarded: {decision}");
            }

            egressSum += decision.EgressPort;
        }

        return egressSum;
    }
}
