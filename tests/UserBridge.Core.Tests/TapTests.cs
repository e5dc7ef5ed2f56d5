using System.Buffers.Binary;
using UserBridge.Core.Forwarding;
using UserBridge.Core.Frames;
using UserBridge.Core.Observers;
using UserBridge.Core.Offload;
using UserBridge.Core.Ports;
using UserBridge.Core.Switching;
using UserBridge.Core.Workers;

namespace UserBridge.Core.Tests;

/// <summary>Captures and mirrors as the engine sees them: which copies, with what stamp, decision and bytes.</summary>
public sealed class TapTests
{
    private static readonly MacAddress A = Frames.Station(1);
    private static readonly MacAddress B = Frames.Station(2);

    [Fact]
    public void AForwardedFrameIsOfferedOnceInOnItsPortAndOnceOutOnItsEgressWithOneStamp()
    {
        using var rig = new TapRig(3);
        var tap = rig.Attach(new RecordingTap());
        rig.Send(1, Frames.Ethernet(A, B));
        rig.Send(0, Frames.Ethernet(B, A));

        var copies = tap.Copies.Where(copy => copy.Decision.Action == ForwardingAction.Forward).ToList();
        Assert.Equal([("p0", ObserverDirection.In), ("p1", ObserverDirection.Out)], copies.Select(copy => (copy.Port, copy.Direction)));
        Assert.Equal(copies[0].Stamp, copies[1].Stamp);
        Assert.Equal(1, copies[0].Decision.EgressPort);
    }

    [Fact]
    public void AFloodIsOfferedOnEveryEgressPortWithTheSamePacketIdAndFramesGetDistinctIds()
    {
        using var rig = new TapRig(4);
        var tap = rig.Attach(new RecordingTap());
        rig.Send(0, Frames.Ethernet(MacAddress.Broadcast, A));
        rig.Send(1, Frames.Ethernet(MacAddress.Broadcast, B));

        var first = tap.Copies.Where(copy => copy.Stamp == tap.Copies[0].Stamp).ToList();
        Assert.Equal(["p0 In", "p1 Out", "p2 Out", "p3 Out"], first.Select(copy => $"{copy.Port} {copy.Direction}"));
        Assert.All(first, copy => Assert.Equal(FloodReason.Broadcast, copy.Decision.FloodReason));
        Assert.Equal(8, tap.Copies.Count);
        Assert.NotEqual(tap.Copies[0].Stamp.PacketId, tap.Copies[4].Stamp.PacketId);
        Assert.True(tap.Copies[4].Stamp.TimestampNs >= tap.Copies[0].Stamp.TimestampNs);
    }

    [Fact]
    public void PortsAndDirectionSelectTheCopies()
    {
        using var rig = new TapRig(3);
        var tap = rig.Attach(new RecordingTap { Ports = new HashSet<string> { "p2" }, Direction = ObserverDirection.Out });
        rig.Send(0, Frames.Ethernet(MacAddress.Broadcast, A));
        rig.Send(2, Frames.Ethernet(MacAddress.Broadcast, B));

        Assert.Equal(["p2 Out"], tap.Copies.Select(copy => $"{copy.Port} {copy.Direction}"));
    }

    [Fact]
    public void DroppedFramesAreOfferedOnlyToTapsThatAskForThemWithTheirReason()
    {
        using var rig = new TapRig(2);
        var plain = rig.Attach(new RecordingTap());
        var withDrops = rig.Attach(new RecordingTap { IncludeDrops = true });
        rig.Send(0, Frames.Ethernet(B, MacAddress.Broadcast));

        Assert.Empty(plain.Copies);
        var copy = Assert.Single(withDrops.Copies);
        Assert.Equal((ObserverDirection.In, DropReason.MulticastSource), (copy.Direction, copy.Decision.DropReason));
    }

    [Fact]
    public void EgressCopiesAreTheFrameAsItLeavesThePortWithItsVlanTagRewritten()
    {
        using var rig = new TapRig(2, PortVlan.Access(10), PortVlan.Trunk([10], native: 0));
        var tap = rig.Attach(new RecordingTap());
        var untagged = Frames.Ethernet(MacAddress.Broadcast, A);
        rig.Send(0, untagged);

        Assert.Equal(untagged, tap.Copies[0].Bytes);
        var egress = tap.Copies[1].Bytes;
        Assert.Equal(untagged.Length + 4, egress.Length);
        Assert.Equal(10, BinaryPrimitives.ReadUInt16BigEndian(egress.AsSpan(14)) & 0x0FFF);
        Assert.Equal(egress, Assert.Single(rig.Bridge.Snapshot.Ports[1]!.Port is MemoryPort port ? port.Sent : []));
    }

    [Fact]
    public void RemovedTapsAreOfferedNothingMore()
    {
        using var rig = new TapRig(2);
        var tap = rig.Attach(new RecordingTap());
        Assert.True(rig.Bridge.RemoveObserver(tap));
        Assert.Null(rig.Bridge.Snapshot.Taps);
        rig.Send(0, Frames.Ethernet(MacAddress.Broadcast, A));

        Assert.Empty(tap.Copies);
        Assert.False(rig.Bridge.RemoveObserver(tap));
    }

    [Fact]
    public void AMirrorSendsCopiesOfItsSourcesToItsOutputWhichIsNeverLearnedOnOrFloodedTo()
    {
        using var rig = new TapRig(4);
        rig.Bridge.AddObserver(new MirrorObserver("p3") { Ports = new HashSet<string> { "p0" }, Direction = ObserverDirection.Both });
        var toB = Frames.Ethernet(B, A);
        rig.Send(0, toB);
        var fromB = Frames.Ethernet(A, B);
        rig.Send(1, fromB);
        var broadcast = Frames.Ethernet(MacAddress.Broadcast, Frames.Station(3));
        rig.Send(2, broadcast);

        // p0 received toB and was sent fromB and the broadcast; neither flood reached p3 other than as a copy.
        Assert.Equal([toB, fromB, broadcast], rig.Port(3).Sent);

        var fromOutput = rig.Send(3, Frames.Ethernet(A, Frames.Station(9)));
        Assert.Equal(DropReason.MirrorOutput, fromOutput.DropReason);
        Assert.DoesNotContain(rig.Bridge.MacTable.GetEntries(), entry => entry.Port == 3);
    }

    [Fact]
    public void AMirrorWithAVlanTagsItsCopies()
    {
        using var rig = new TapRig(3);
        rig.Bridge.AddObserver(new MirrorObserver("p2", vlan: 99) { Ports = new HashSet<string> { "p0" }, Direction = ObserverDirection.In });
        var frame = Frames.Ethernet(MacAddress.Broadcast, A);
        rig.Send(0, frame);

        var copy = Assert.Single(rig.Port(2).Sent);
        Assert.Equal(frame.Length + 4, copy.Length);
        Assert.Equal(EthernetFrame.EtherTypeVlan, BinaryPrimitives.ReadUInt16BigEndian(copy.AsSpan(12)));
        Assert.Equal(99, BinaryPrimitives.ReadUInt16BigEndian(copy.AsSpan(14)));
        Assert.Equal(frame.AsSpan(12).ToArray(), copy.AsSpan(16).ToArray());
    }

    [Fact]
    public void RemovingTheMirrorGivesTheOutputPortBackToTheSwitch()
    {
        using var rig = new TapRig(3);
        var mirror = new MirrorObserver("p2") { Ports = new HashSet<string> { "p0" } };
        rig.Bridge.AddObserver(mirror);
        Assert.True(rig.Bridge.Snapshot.Ports[2]!.IsMirrorOutput);
        rig.Bridge.RemoveObserver(mirror);

        Assert.False(rig.Bridge.Snapshot.Ports[2]!.IsMirrorOutput);
        Assert.Equal(ForwardingAction.Flood, rig.Send(2, Frames.Ethernet(MacAddress.Broadcast, A)).Action);
    }

    /// <summary>A bridge of memory ports, not started: frames run through the engine on the test's thread.</summary>
    private sealed class TapRig : IDisposable
    {
        public TapRig(int ports, params PortVlan[] vlans)
        {
            for (var i = 0; i < ports; i++)
            {
                Bridge.AddPort(new MemoryPort($"p{i}"), isUp: true, i < vlans.Length ? vlans[i] : null);
            }
        }

        public Bridge Bridge { get; } = new(new BridgeOptions());

        public T Attach<T>(T tap)
            where T : FrameObserver
        {
            Bridge.AddObserver(tap);
            return tap;
        }

        public MemoryPort Port(int index) => (MemoryPort)Bridge.Snapshot.Ports[index]!.Port;

        public WorkerContext Context { get; } = new();

        public ForwardingDecision Send(int port, byte[] frame) => Bridge.Engine.Process(Bridge.Snapshot, port, frame, VirtioNetHeader.None, Context, Bridge.MacTable.NowMs);

        public void Dispose()
        {
            Context.Dispose();
            Bridge.Dispose();
        }
    }

    private sealed record Copy(string Port, ObserverDirection Direction, ForwardingDecision Decision, ObserverStamp Stamp, byte[] Bytes);

    private sealed class RecordingTap : FrameObserver
    {
        public List<Copy> Copies { get; } = [];

        public override void Observe(in ObservedFrame copy) =>
            Copies.Add(new Copy(copy.Port.Name, copy.Direction, copy.Decision, copy.Stamp, copy.Frame.ToArray()));
    }
}
