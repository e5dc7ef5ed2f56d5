using Microsoft.Extensions.Time.Testing;
using UserBridge.Core.Forwarding;
using UserBridge.Core.Learning;
using UserBridge.Core.Offload;
using UserBridge.Core.Ports;
using UserBridge.Core.Switching;
using UserBridge.Core.Tests.Vlan;
using UserBridge.Core.Workers;

namespace UserBridge.Core.Tests.Offload;

/// <summary>
/// What the engine does with GSO fields a hostile sender chooses: a frame that would become tens of thousands of
/// segments is dropped at ingress before any port sees it, and a port whose MTU its segments exceed refuses it
/// without keeping it from the other ports.
/// </summary>
public sealed class OffloadAdmissionTests : IDisposable
{
    private const ushort Mss = 1448;

    private readonly FakeTimeProvider _time = new();
    private readonly MacTable _table;
    private readonly ForwardingEngine _engine;
    private readonly OffloadRecordingPort _offloadPort = new("offload");
    private readonly MemoryPort _plainPort = new("plain");
    private readonly MemoryPort _smallMtuPort = new("small");
    private readonly PortSlot[] _slots;
    private readonly WorkerContext _context = new();

    public OffloadAdmissionTests()
    {
        _table = new MacTable(1024, TimeSpan.FromSeconds(60), _time);
        _engine = new ForwardingEngine(_table);
        _slots =
        [
            new PortSlot(0, new MemoryPort("in"), new PortCounters(), IsUp: true),
            new PortSlot(1, _offloadPort, new PortCounters(), IsUp: true),
            new PortSlot(2, _plainPort, new PortCounters(), IsUp: true),
            new PortSlot(3, _smallMtuPort, new PortCounters(), IsUp: true) { Guard = new PortGuard { Mtu = 1000 } },
        ];
    }

    public void Dispose() => _context.Dispose();

    [Theory]
    [InlineData(1)]
    [InlineData(GsoSegmenter.MinGsoSize - 1)]
    public void AGsoSizeNoSenderUsesIsDroppedAtIngressBeforeAnyPortSeesIt(ushort gsoSize)
    {
        var frame = TestFrames.Tcp(ipv6: false, payloadLength: 60_000);

        var decision = Send(frame.Bytes, frame.GsoHeader(VirtioNetHeader.GsoTcpV4, Mss) with { GsoSize = gsoSize });

        Assert.Equal(DropReason.BadOffload, decision.DropReason);
        Assert.Equal(1, _slots[0].Counters.Drops(DropReason.BadOffload));
        Assert.Empty(_offloadPort.Sent);
        Assert.Empty(_plainPort.Sent);
        Assert.Empty(_smallMtuPort.Sent);
    }

    [Fact]
    public void APortWhoseMtuTheSegmentsExceedRefusesTheFrameAndTheOthersStillGetIt()
    {
        var frame = TestFrames.Tcp(ipv6: false, payloadLength: 10 * Mss);

        var decision = Send(frame.Bytes, frame.GsoHeader(VirtioNetHeader.GsoTcpV4, Mss));

        Assert.Equal(ForwardingAction.Flood, decision.Action);
        Assert.Single(_offloadPort.Sent);
        Assert.Equal(10, _plainPort.Sent.Count);
        Assert.Empty(_smallMtuPort.Sent);
        Assert.Equal(1, _slots[0].Counters.Drops(DropReason.BadOffload));
    }

    [Fact]
    public void APortThatTakesOffloadsRefusesAGsoFrameWhoseSegmentsExceedItsMtu()
    {
        _slots[1] = _slots[1] with { Guard = new PortGuard { Mtu = 1000 } };
        var frame = TestFrames.Tcp(ipv6: false, payloadLength: 10 * Mss);

        Send(frame.Bytes, frame.GsoHeader(VirtioNetHeader.GsoTcpV4, Mss));

        Assert.Empty(_offloadPort.Sent);
        Assert.Equal(10, _plainPort.Sent.Count);
    }

    private ForwardingDecision Send(byte[] frame, VirtioNetHeader header) =>
        _engine.Process(new BridgeSnapshot([.. _slots], 1, false), 0, frame, header, _context, _table.NowMs);
}
