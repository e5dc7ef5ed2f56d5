using System.Buffers.Binary;
using UserBridge.Core.Forwarding;
using UserBridge.Core.Frames;
using UserBridge.Core.Observers;
using UserBridge.Core.Offload;
using UserBridge.Core.Ports;
using UserBridge.Core.Switching;
using UserBridge.Core.Workers;
using UserBridge.Tests.Shared;

namespace UserBridge.Core.Tests.Allocation;

/// <summary>
/// The README's "no allocation per frame", for each path a frame takes through the engine as a worker runs it (with a
/// <see cref="WorkerContext"/> of its own): known unicast, flood, learning a new station and refreshing or moving a known
/// one, a VLAN tag pushed and popped, and a mirror attached. Every test also checks that the frames went where that path
/// sends them, so that a path that dropped everything could not pass.
/// </summary>
public sealed class EngineAllocationTests : IDisposable
{
    private const int Rounds = 1000;
    private const int Ports = 4;

    private static readonly MacAddress A = Frames.Station(0xA);
    private static readonly MacAddress B = Frames.Station(0xB);

    private readonly WorkerContext _context = new();
    private readonly LastFramePort[] _ports = new LastFramePort[Ports];
    private Bridge _bridge = new(new BridgeOptions());
    private int _sends;

    public void Dispose()
    {
        _bridge.Dispose();
        _context.Dispose();
    }

    [Fact]
    public void AFrameToAKnownStationAllocatesNothing()
    {
        AddPorts();
        Learn(B, 1);
        var frame = Frames.Ethernet(B, A);

        AssertNoAllocation(() => Send(0, frame));

        AssertSent(1, _sends);
        AssertSent(2, 0);
    }

    [Fact]
    public void ABroadcastFloodedToEveryOtherPortAllocatesNothing()
    {
        AddPorts();
        var frame = Frames.Ethernet(MacAddress.Broadcast, A);

        AssertNoAllocation(() => Send(0, frame));

        AssertSent(0, 0);
        for (var port = 1; port < Ports; port++)
        {
            AssertSent(port, _sends);
        }
    }

    [Fact]
    public void LearningANewStationOnEveryFrameAllocatesNothingEvenOnceTheTableIsFullAndEvicts()
    {
        _bridge.Dispose();
        _bridge = new Bridge(new BridgeOptions { MacTableSize = 1024 });
        AddPorts();
        Learn(B, 1);
        var frame = Frames.Ethernet(B, A);
        var station = 0u;

        // Each frame comes from a station the table has not seen: 02:00:00:01:xx:xx, numbered on.
        AssertNoAllocation(() =>
        {
            BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(8), 0x0001_0000 + ++station);
            Send(0, frame);
        });

        AssertSent(1, _sends);
        Assert.True(station > 1024 && _bridge.MacTable.EvictedCount > 0, $"the table never filled: {station} stations, {_bridge.MacTable.EvictedCount} evicted");
    }

    [Fact]
    public void RefreshingAStationAndMovingItBetweenPortsAllocatesNothing()
    {
        AddPorts();
        Learn(B, 1);
        var frame = Frames.Ethernet(B, A);
        var ingress = 0;

        // A's entry is refreshed on every frame, and moves between ports 0 and 2 on every other one.
        AssertNoAllocation(() =>
        {
            Send(ingress, frame);
            Send(ingress, frame);
            ingress = 2 - ingress;
        });

        AssertSent(1, _sends);
        Assert.True(_bridge.MacTable.MovedCount >= Rounds, $"A moved {_bridge.MacTable.MovedCount} times");
    }

    [Fact]
    public void PushingAndPoppingAVlanTagAllocatesNothing()
    {
        // Ports 0 and 2: access ports of VLAN 10; port 1: a trunk of VLANs 10 and 20; port 3: access of VLAN 20.
        AddPorts(PortVlan.Access(10), PortVlan.Trunk([10, 20]), PortVlan.Access(10), PortVlan.Access(20));
        Learn(A, 0);
        Learn(B, 1, vlan: 10);
        var untagged = Frames.Ethernet(B, A);
        var tagged = Frames.Ethernet(A, B, vlan: 10);

        AssertNoAllocation(() =>
        {
            Send(0, untagged);
            Send(1, tagged);
        });

        AssertSent(1, _sends / 2);
        AssertSent(0, _sends / 2);
        Assert.Equal(Tagged(untagged, 10), _ports[1].Last);
        Assert.Equal([.. tagged.AsSpan(0, 12), .. tagged.AsSpan(16)], _ports[0].Last);
        AssertSent(2, 0);
        AssertSent(3, 0);
    }

    [Fact]
    public void AFloodInAVlanWithItsTagPushedForTheTrunkAndAMirrorThatTagsItsCopiesAllocatesNothing()
    {
        AddPorts(PortVlan.Access(10), PortVlan.Trunk([10, 20]), PortVlan.Access(10), PortVlan.Access(20));
        _bridge.AddObserver(new MirrorObserver("p3", vlan: 999) { Ports = new HashSet<string>(["p0"], StringComparer.Ordinal) });
        var frame = Frames.Ethernet(MacAddress.Broadcast, A);

        AssertNoAllocation(() => Send(0, frame));

        AssertSent(1, _sends);
        AssertSent(2, _sends);
        AssertSent(3, _sends);
        Assert.Equal(Tagged(frame, 10), _ports[1].Last);
        Assert.Equal(Tagged(frame, 999), _ports[3].Last);
        Assert.Equal(frame, _ports[2].Last);
    }

    /// <summary>Adds ports p0 to p3, with VLAN settings if given.</summary>
    private void AddPorts(params PortVlan[] vlans)
    {
        for (var i = 0; i < Ports; i++)
        {
            _ports[i] = new LastFramePort($"p{i}");
            _bridge.AddPort(_ports[i], isUp: true, vlans.Length == 0 ? null : vlans[i]);
        }
    }

    /// <summary>Teaches the switch that <paramref name="station"/> is behind <paramref name="port"/>.</summary>
    private void Learn(MacAddress station, int port, ushort? vlan = null)
    {
        var decision = _bridge.Engine.Process(_bridge.Snapshot, port, Frames.Ethernet(MacAddress.Broadcast, station, vlan: vlan), VirtioNetHeader.None, _context, _bridge.MacTable.NowMs);
        Assert.Equal(ForwardingAction.Flood, decision.Action);
        foreach (var each in _ports)
        {
            each.Forget();
        }
    }

    private void Send(int ingress, byte[] frame)
    {
        var decision = _bridge.Engine.Process(_bridge.Snapshot, ingress, frame, VirtioNetHeader.None, _context, _bridge.MacTable.NowMs);
        if (decision.Action == ForwardingAction.Drop)
        {
            throw new InvalidOperationException($"the frame from port {ingress} was dropped: {decision.DropReason}");
        }

        _sends++;
    }

    /// <summary>Warms the path up, then fails if an attempt of <see cref="Rounds"/> runs of it allocates.</summary>
    private void AssertNoAllocation(Action work)
    {
        for (var i = 0; i < 100; i++)
        {
            work();
        }

        var allocated = Allocations.PerAttempt(work, Rounds);
        Assert.True(allocated == 0, $"{allocated} bytes allocated in {Rounds} runs");
    }

    /// <summary><paramref name="frame"/> with an 802.1Q tag of <paramref name="vid"/> pushed in front of its EtherType.</summary>
    private static byte[] Tagged(byte[] frame, ushort vid) => [.. frame.AsSpan(0, 12), 0x81, 0x00, (byte)(vid >> 8), (byte)vid, .. frame.AsSpan(12)];

    private void AssertSent(int port, int frames) => Assert.Equal(frames, _ports[port].SentCount);
}
