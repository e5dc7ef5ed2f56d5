using Microsoft.Extensions.Time.Testing;
using UserBridge.Core.Events;
using UserBridge.Core.Frames;
using UserBridge.Core.Learning;
using UserBridge.Core.Ports;
using UserBridge.Core.Switching;

namespace UserBridge.Core.Tests.Events;

/// <summary>The event ring and what the MAC table and the bridge publish into it.</summary>
public sealed class EventTests
{
    private static readonly MacAddress StationA = Frames.Station(0xA);

    [Fact]
    public void TheRingRecordsNothingUntilEnabledThenKeepsOrderAndCountsWhatDidNotFit()
    {
        var ring = new EventRing(capacity: 4);
        ring.Publish(Port(BridgeEventKind.PortUp, "ignored"));
        Assert.False(ring.TryTake(out _));

        ring.Enabled = true;
        for (var i = 0; i < 6; i++)
        {
            ring.Publish(Port(BridgeEventKind.PortAdded, $"p{i}"));
        }

        Assert.Equal(2, ring.Lost);
        Assert.Equal(["p0", "p1", "p2", "p3"], Drain(ring).Select(item => item.Text));
        ring.Publish(Port(BridgeEventKind.PortDown, "p9"));
        Assert.Equal(["p9"], Drain(ring).Select(item => item.Text));
    }

    [Fact]
    public void TheRingTakesEveryEventOfConcurrentPublishersOnce()
    {
        var ring = new EventRing(capacity: 1 << 16) { Enabled = true };
        const int PerThread = 10_000;
        Parallel.For(0, 4, thread =>
        {
            for (var i = 0; i < PerThread; i++)
            {
                ring.Publish(new BridgeEvent(BridgeEventKind.Learned, (ulong)((thread * PerThread) + i), thread, -1, null));
            }
        });

        var keys = Drain(ring).Select(item => item.Key).ToList();
        Assert.Equal(4 * PerThread, keys.Count);
        Assert.Equal(4 * PerThread, keys.Distinct().Count());
        Assert.Equal(0, ring.Lost);
    }

    [Fact]
    public void TheTablePublishesLearnMoveEvictionAndAgeOutOfDynamicEntriesOnly()
    {
        const int Capacity = 64;
        var time = new FakeTimeProvider();
        var ring = new EventRing { Enabled = true };
        var table = new MacTable(Capacity, TimeSpan.FromSeconds(10), time) { Events = ring };
        var keys = BucketKeys.InBucket(Capacity, bucket: 3, MacTable.SlotsPerBucket + 1);

        table.Learn(keys[0], 0, table.NowMs);
        table.Learn(keys[0], 0, table.NowMs);
        table.Learn(keys[0], 2, table.NowMs);
        for (var i = 1; i <= MacTable.SlotsPerBucket; i++)
        {
            time.Advance(TimeSpan.FromMilliseconds(1));
            table.Learn(keys[i], 1, table.NowMs);
        }

        time.Advance(TimeSpan.FromSeconds(11));
        Assert.Equal(MacTable.SlotsPerBucket, table.Sweep());
        table.AddStatic(StationA, 20, 3);
        table.Remove(StationA, 20);

        var expected = new List<(BridgeEventKind, ulong, int, int)>
        {
            (BridgeEventKind.Learned, keys[0], 0, -1),
            (BridgeEventKind.Moved, keys[0], 2, 0),
        };
        expected.AddRange(keys[1..^1].Select(key => (BridgeEventKind.Learned, key, 1, -1)));
        expected.Add((BridgeEventKind.Evicted, keys[0], 2, -1));
        expected.Add((BridgeEventKind.Learned, keys[^1], 1, -1));
        var events = Drain(ring);
        Assert.Equal(expected, events.Take(expected.Count).Select(item => (item.Kind, item.Key, item.Port, item.FromPort)));
        var aged = events.Skip(expected.Count).ToList();
        Assert.All(aged, item => Assert.Equal((BridgeEventKind.Aged, 1), (item.Kind, item.Port)));
        Assert.Equal(keys[1..].Order(), aged.Select(item => item.Key).Order());
    }

    [Fact]
    public void TheBridgePublishesPortsAddedRemovedAndTakenDownOrUp()
    {
        using var bridge = new Bridge(new BridgeOptions());
        bridge.Events.Enabled = true;
        bridge.AddPort(new MemoryPort("a"));
        bridge.AddPort(new MemoryPort("b"));
        bridge.SetPortUp("b", isUp: false);
        bridge.SetPortUp("b", isUp: false);
        bridge.SetPortUp("b", isUp: true);
        bridge.RemovePort("a");

        Assert.Equal(
            [
                (BridgeEventKind.PortAdded, "a", 0),
                (BridgeEventKind.PortAdded, "b", 1),
                (BridgeEventKind.PortDown, "b", 1),
                (BridgeEventKind.PortUp, "b", 1),
                (BridgeEventKind.PortRemoved, "a", 0),
            ],
            Drain(bridge.Events).Select(item => (item.Kind, item.Text, item.Port)));
    }

    private static BridgeEvent Port(BridgeEventKind kind, string name) => BridgeEvent.ForPort(kind, name, 0);

    private static List<BridgeEvent> Drain(EventRing ring)
    {
        var items = new List<BridgeEvent>();
        while (ring.TryTake(out var item))
        {
            items.Add(item);
        }

        return items;
    }
}
