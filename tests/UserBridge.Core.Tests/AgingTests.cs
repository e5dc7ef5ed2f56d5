using UserBridge.Core.Forwarding;
using UserBridge.Core.Frames;
using UserBridge.Core.Learning;

namespace UserBridge.Core.Tests;

public sealed class AgingTests
{
    private static readonly TimeSpan Millisecond = TimeSpan.FromMilliseconds(1);
    private static readonly MacAddress StationA = Frames.Station(0xA);
    private static readonly MacAddress StationB = Frames.Station(0xB);

    [Fact]
    public void KeepsAnEntryUntilAgingTimeAndTreatsItAsAbsentRightAfter()
    {
        using var harness = new EngineHarness(portCount: 3);
        harness.Send(0, Frames.Ethernet(MacAddress.Broadcast, StationA));
        harness.DrainAll();

        harness.Time.Advance(EngineHarness.AgingTime - Millisecond);
        Assert.Equal(ForwardingDecision.Forward(0, 0), harness.Send(1, Frames.Ethernet(StationA, StationB)));

        harness.Time.Advance(2 * Millisecond);
        Assert.Equal(-1, harness.Table.Lookup(StationA, 0));
        Assert.Equal(ForwardingDecision.Flood(FloodReason.UnknownUnicast, 0), harness.Send(1, Frames.Ethernet(StationA, StationB)));
        Assert.DoesNotContain(harness.Table.GetEntries(), e => e.Mac == StationA);
    }

    [Fact]
    public void SweepRemovesOnlyAgedEntriesAndCountsThem()
    {
        using var harness = new EngineHarness(portCount: 3);
        harness.Send(0, Frames.Ethernet(MacAddress.Broadcast, StationA));
        harness.Time.Advance(EngineHarness.AgingTime / 2);
        harness.Send(1, Frames.Ethernet(MacAddress.Broadcast, StationB));
        harness.Time.Advance((EngineHarness.AgingTime / 2) + Millisecond);
        Assert.Equal(2, harness.Table.Count);

        Assert.Equal(1, harness.Table.Sweep());

        Assert.Equal(1, harness.Table.AgedCount);
        Assert.Equal(1, harness.Table.Count);
        Assert.Equal(StationB, Assert.Single(harness.Table.GetEntries()).Mac);
        Assert.Equal(0, harness.Table.Sweep());
        Assert.Equal(1, harness.Table.AgedCount);
    }

    [Fact]
    public void AStationThatKeepsSendingNeverAgesOut()
    {
        using var harness = new EngineHarness(portCount: 2);
        for (var i = 0; i < 4; i++)
        {
            harness.Send(0, Frames.Ethernet(MacAddress.Broadcast, StationA));
            harness.Time.Advance(EngineHarness.AgingTime / 2);
        }

        Assert.Equal(0, harness.Table.Lookup(StationA, 0));
        Assert.Equal(0, harness.Table.Sweep());
    }

    [Fact]
    public void NeverAgesAStaticEntry()
    {
        using var harness = new EngineHarness(portCount: 3);
        Assert.True(harness.Table.AddStatic(StationA, 0, 2));

        harness.Time.Advance(10 * EngineHarness.AgingTime);

        Assert.Equal(0, harness.Table.Sweep());
        Assert.Equal(2, harness.Table.Lookup(StationA, 0));
        Assert.Equal(new MacTableEntry(StationA, 0, 2, TimeSpan.Zero, IsStatic: true), Assert.Single(harness.Table.GetEntries()));
        Assert.Equal(ForwardingDecision.Forward(2, 0), harness.Send(0, Frames.Ethernet(StationA, StationB)));
    }
}
