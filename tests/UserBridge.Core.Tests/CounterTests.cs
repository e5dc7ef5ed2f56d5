using UserBridge.Core.Forwarding;
using UserBridge.Core.Frames;
using UserBridge.Core.Learning;
using UserBridge.Core.Offload;
using UserBridge.Core.Ports;
using UserBridge.Core.Switching;

namespace UserBridge.Core.Tests;

public sealed class CounterTests
{
    private static readonly MacAddress StationA = Frames.Station(0xA);
    private static readonly MacAddress StationB = Frames.Station(0xB);

    [Fact]
    public void DropsAFrameShorterThanTheEthernetHeaderAsTooShort()
    {
        using var harness = new EngineHarness(portCount: 3);

        var decision = harness.Send(0, new byte[EthernetFrame.HeaderLength - 1]);

        Assert.Equal(ForwardingDecision.Drop(DropReason.TooShort), decision);
        AssertDroppedOnce(harness, 0, DropReason.TooShort);
        Assert.Equal(13, harness.Counters(0).RxBytes);
        Assert.Equal(0, harness.Table.Count);
    }

    [Fact]
    public void DropsAFrameFromAGroupAddressAsMulticastSourceWithoutLearningIt()
    {
        using var harness = new EngineHarness(portCount: 3);

        var decision = harness.Send(1, Frames.Ethernet(StationB, MacAddress.Parse("01:00:5e:00:00:01")));

        Assert.Equal(ForwardingDecision.Drop(DropReason.MulticastSource), decision);
        AssertDroppedOnce(harness, 1, DropReason.MulticastSource);
        Assert.Equal(0, harness.Table.Count);
    }

    [Fact]
    public void DropsAFrameReceivedOnADownPortAsPortDownWithoutLearningIt()
    {
        using var harness = new EngineHarness(portCount: 3);
        harness.SetPortUp(2, isUp: false);

        var decision = harness.Send(2, Frames.Ethernet(MacAddress.Broadcast, StationA, vlan: 7));

        Assert.Equal(ForwardingDecision.Drop(DropReason.PortDown, 7), decision);
        AssertDroppedOnce(harness, 2, DropReason.PortDown);
        Assert.Equal(0, harness.Table.Count);
    }

    [Fact]
    public void DropsAFrameToAStationLearnedOnADownPortAsEgressDown()
    {
        using var harness = new EngineHarness(portCount: 3);
        harness.Table.Learn(MacTable.Key(StationB, 0), 1, harness.Table.NowMs);
        harness.SetPortUp(1, isUp: false);

        var decision = harness.Send(0, Frames.Ethernet(StationB, StationA));

        Assert.Equal(ForwardingDecision.Drop(DropReason.EgressDown), decision);
        AssertDroppedOnce(harness, 0, DropReason.EgressDown);
    }

    [Fact]
    public void DropsAFrameToAStationLearnedOnAPortMissingFromTheSnapshotAsEgressDown()
    {
        using var harness = new EngineHarness(portCount: 2);
        harness.Table.Learn(MacTable.Key(StationB, 0), 5, harness.Table.NowMs);

        var decision = harness.Send(0, Frames.Ethernet(StationB, StationA));

        Assert.Equal(ForwardingDecision.Drop(DropReason.EgressDown), decision);
        AssertDroppedOnce(harness, 0, DropReason.EgressDown);
    }

    [Fact]
    public void DropsAFrameToAStationOnItsOwnSegmentAsLocalDestination()
    {
        using var harness = new EngineHarness(portCount: 3);
        harness.Table.Learn(MacTable.Key(StationB, 0), 2, harness.Table.NowMs);

        var decision = harness.Send(2, Frames.Ethernet(StationB, StationA));

        Assert.Equal(ForwardingDecision.Drop(DropReason.LocalDestination), decision);
        AssertDroppedOnce(harness, 2, DropReason.LocalDestination);
    }

    [Fact]
    public void DropsWithoutThrowingAFrameFromAPortMissingFromTheSnapshot()
    {
        using var harness = new EngineHarness(portCount: 2);
        var frame = Frames.Ethernet(MacAddress.Broadcast, StationA);
        var withHole = new BridgeSnapshot(new PortSlot?[] { harness.Snapshot.Ports[0], null }, 1);

        Assert.Equal(ForwardingDecision.Drop(DropReason.PortDown), harness.Engine.Process(withHole, 1, frame, VirtioNetHeader.None, harness.Context, 0));
        Assert.Equal(ForwardingDecision.Drop(DropReason.PortDown), harness.Engine.Process(BridgeSnapshot.Empty, 1, frame, VirtioNetHeader.None, harness.Context, 0));

        Assert.Equal(0, harness.Table.Count);
        Assert.Empty(harness.Drain(0));
        Assert.Equal(0, harness.Counters(0).RxFrames);
    }

    [Fact]
    public void CountsDropsPerPortAndPerReason()
    {
        using var harness = new EngineHarness(portCount: 3);
        harness.Send(1, Frames.Ethernet(MacAddress.Broadcast, StationB));
        harness.Send(0, new byte[3]);
        harness.Send(0, new byte[10]);
        harness.Send(1, Frames.Ethernet(StationA, MacAddress.Broadcast));
        harness.Send(1, Frames.Ethernet(StationB, StationA));
        harness.Send(1, Frames.Ethernet(StationB, StationA));
        harness.Send(1, Frames.Ethernet(StationB, StationA));

        Assert.Equal(2, harness.Counters(0).Drops(DropReason.TooShort));
        Assert.Equal(2, harness.Counters(0).TotalDrops);
        Assert.Equal(1, harness.Counters(1).Drops(DropReason.MulticastSource));
        Assert.Equal(3, harness.Counters(1).Drops(DropReason.LocalDestination));
        Assert.Equal(0, harness.Counters(1).Drops(DropReason.TooShort));
        Assert.Equal(4, harness.Counters(1).TotalDrops);
        Assert.Equal(0, harness.Counters(2).TotalDrops);
    }

    [Theory]
    [InlineData(DropReason.TooShort, "too_short")]
    [InlineData(DropReason.MulticastSource, "multicast_source")]
    [InlineData(DropReason.PortDown, "port_down")]
    [InlineData(DropReason.EgressDown, "egress_down")]
    [InlineData(DropReason.LocalDestination, "local_destination")]
    public void NamesEveryDropReasonStably(DropReason reason, string name)
    {
        Assert.Equal(name, DropReasons.Name(reason));
        Assert.Contains(reason, DropReasons.All);
    }

    [Fact]
    public void ListsEveryDropReasonOnceAndHasACounterForEach()
    {
        var reasons = Enum.GetValues<DropReason>().Where(r => r != DropReason.None).ToArray();

        Assert.Equal(reasons, DropReasons.All);
        Assert.Equal(DropReasons.Count, Enum.GetValues<DropReason>().Length);
    }

    [Fact]
    public void CountsReceivedAndSentFramesAndBytesOnEachPort()
    {
        using var harness = new EngineHarness(portCount: 3);
        var broadcast = Frames.Ethernet(MacAddress.Broadcast, StationA, payloadLength: 46);
        var reply = Frames.Ethernet(StationA, StationB, payloadLength: 100);

        harness.Send(0, broadcast);
        harness.Send(1, reply);

        Assert.Equal((1, 60, 1, 114, 1), Traffic(harness.Counters(0)));
        Assert.Equal((1, 114, 1, 60, 0), Traffic(harness.Counters(1)));
        Assert.Equal((0, 0, 1, 60, 0), Traffic(harness.Counters(2)));
        Assert.Equal(0, harness.Counters(0).TxErrors);
    }

    [Fact]
    public void CountsATxErrorWhenAnEgressPortRefusesTheFrame()
    {
        using var harness = new EngineHarness(portCount: 3);
        harness.Ports[2].RefuseSends = true;

        harness.Send(0, Frames.Ethernet(MacAddress.Broadcast, StationA));

        Assert.Equal(1, harness.Counters(2).TxErrors);
        Assert.Equal(0, harness.Counters(2).TxFrames);
        Assert.Equal(0, harness.Counters(2).TxBytes);
        Assert.Equal(0, harness.Ports[2].SentCount);
        Assert.Equal(1, harness.Counters(1).TxFrames);
        Assert.Equal(0, harness.Counters(1).TxErrors);
        Assert.Single(harness.Drain(1));
    }

    private static (long RxFrames, long RxBytes, long TxFrames, long TxBytes, long Floods) Traffic(PortCounters counters) =>
        (counters.RxFrames, counters.RxBytes, counters.TxFrames, counters.TxBytes, counters.Floods);

    /// <summary>Exactly one frame was received, on <paramref name="port"/>, and dropped for <paramref name="reason"/>:
    /// no other reason or port counted a drop and nothing was sent anywhere.</summary>
    private static void AssertDroppedOnce(EngineHarness harness, int port, DropReason reason)
    {
        for (var i = 0; i < harness.Ports.Length; i++)
        {
            var counters = harness.Counters(i);
            foreach (var each in DropReasons.All)
            {
                Assert.Equal(i == port && each == reason ? 1 : 0, counters.Drops(each));
            }

            Assert.Equal(i == port ? 1 : 0, counters.RxFrames);
            Assert.Equal(0, counters.TxFrames);
            Assert.Equal(0, counters.Floods);
            Assert.Empty(harness.Drain(i));
        }
    }
}
