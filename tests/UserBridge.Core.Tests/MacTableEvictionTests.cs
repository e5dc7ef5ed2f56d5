using UserBridge.Core.Frames;
using UserBridge.Core.Learning;

namespace UserBridge.Core.Tests;

public sealed class MacTableEvictionTests
{
    private const int Capacity = 1024;
    private const int Slots = MacTable.SlotsPerBucket;

    [Fact]
    public void AMacForAFullBucketReplacesItsLeastRecentlySeenDynamicEntry()
    {
        var table = new MacTable(Capacity);
        var keys = BucketKeys.InBucket(Capacity, bucket: 77, Slots + 2);
        const int oldest = Slots / 2;
        for (var i = 0; i < Slots; i++)
        {
            Assert.Equal(LearnResult.Learned, table.Learn(keys[i], i, i == oldest ? 10 : 30 + (10 * i)));
        }

        Assert.Equal(LearnResult.Learned, table.Learn(keys[Slots], 100, 100));

        Assert.Equal(1, table.EvictedCount);
        Assert.Equal(Slots, table.Count);
        Assert.Equal(-1, table.Lookup(keys[oldest], 100));
        Assert.Equal(100, table.Lookup(keys[Slots], 100));
        Assert.Equal(0, table.Lookup(keys[0], 100));

        // A refresh (older than the refresh interval) makes key 0 recent: key 1 is now the oldest.
        Assert.Equal(LearnResult.Refreshed, table.Learn(keys[0], 0, 2000));
        Assert.Equal(LearnResult.Learned, table.Learn(keys[Slots + 1], 101, 2100));

        Assert.Equal(2, table.EvictedCount);
        Assert.Equal(-1, table.Lookup(keys[1], 2100));
        Assert.Equal(0, table.Lookup(keys[0], 2100));
        Assert.Equal(101, table.Lookup(keys[Slots + 1], 2100));
        Assert.Equal(Slots, table.Count);
    }

    [Fact]
    public void NeverEvictsAStaticEntryAndRefusesAMacWhoseBucketHoldsOnlyStaticOnes()
    {
        var table = new MacTable(Capacity);
        var keys = BucketKeys.InBucket(Capacity, bucket: 5, Slots + 4);
        for (var i = 0; i < Slots - 1; i++)
        {
            Assert.True(table.AddStatic(MacOf(keys[i]), VlanOf(keys[i]), 200 + i));
        }

        table.Learn(keys[Slots - 1], 1, 0);
        Assert.Equal(LearnResult.Learned, table.Learn(keys[Slots], 2, 10));
        Assert.Equal(-1, table.Lookup(keys[Slots - 1], 10));
        Assert.Equal(1, table.EvictedCount);

        Assert.True(table.AddStatic(MacOf(keys[Slots + 1]), VlanOf(keys[Slots + 1]), 300));
        Assert.Equal(-1, table.Lookup(keys[Slots], 10));

        Assert.Equal(LearnResult.Full, table.Learn(keys[Slots + 2], 3, 20));
        Assert.Equal(1, table.LearnFailureCount);
        Assert.False(table.AddStatic(MacOf(keys[Slots + 3]), VlanOf(keys[Slots + 3]), 301));

        Assert.Equal(-1, table.Lookup(keys[Slots + 2], 20));
        Assert.Equal(Slots, table.Count);
        for (var i = 0; i < Slots - 1; i++)
        {
            Assert.Equal(200 + i, table.Lookup(keys[i], 20));
        }

        Assert.Equal(300, table.Lookup(keys[Slots + 1], 20));
        Assert.All(table.GetEntries(), e => Assert.True(e.IsStatic));
    }

    [Fact]
    public void AFullTableEvictsAnEntryOfTheLargestPortEvenOutsideTheNewMacsBucket()
    {
        const int capacity = 4;
        var table = new MacTable(capacity);
        var owners = new ulong[capacity];
        int[] ports = [5, 5, 6, 7];
        for (var bucket = 0; bucket < capacity; bucket++)
        {
            owners[bucket] = BucketKeys.InBucket(capacity, (ulong)bucket, 1)[0];
            Assert.Equal(LearnResult.Learned, table.Learn(owners[bucket], ports[bucket], bucket));
        }

        var newcomer = BucketKeys.InBucket(capacity, bucket: 2, 2)[1];
        Assert.Equal(LearnResult.Learned, table.Learn(newcomer, 9, 100));

        Assert.Equal(capacity, table.Count);
        Assert.Equal(1, table.EvictedCount);
        Assert.Equal(9, table.Lookup(newcomer, 100));
        Assert.Equal(1, table.CountOn(5));
        Assert.Equal(1, new[] { owners[0], owners[1] }.Count(owner => table.Lookup(owner, 100) == 5));
        Assert.Equal(6, table.Lookup(owners[2], 100));
        Assert.Equal(7, table.Lookup(owners[3], 100));
    }

    [Fact]
    public void CountNeverExceedsCapacityUnderAFloodOfNewMacs()
    {
        const int capacity = 16;
        var table = new MacTable(capacity);
        var random = new Random(7);
        for (var i = 0; i < 20_000; i++)
        {
            var key = MacTable.Key(Frames.Station((uint)random.Next()), random.Next(4096));
            table.Learn(key, i % 8, i);
            Assert.True(table.Count <= capacity, $"after {i + 1} new MACs the table holds {table.Count} entries, more than its capacity {capacity}");
        }

        Assert.Equal(capacity, table.Count);
        Assert.Equal(capacity, table.GetEntries().Count);
        Assert.True(table.EvictedCount > 0, "a table flooded with new MACs evicted nothing");
    }

    [Fact]
    public void StaticEntriesCountTowardsTheCapacity()
    {
        const int capacity = 2;
        var table = new MacTable(capacity);
        var statics = BucketKeys.InBucket(capacity, bucket: 1, 2);
        var dynamicKey = BucketKeys.InBucket(capacity, bucket: 2, 1)[0];
        foreach (var key in statics)
        {
            Assert.True(table.AddStatic(MacOf(key), VlanOf(key), 1));
        }

        Assert.Equal(LearnResult.Full, table.Learn(dynamicKey, 2, 0));

        Assert.Equal(capacity, table.Count);
        Assert.Equal(-1, table.Lookup(dynamicKey, 0));
    }

    private static MacAddress MacOf(ulong key) => new(key & 0xFFFF_FFFF_FFFFUL);

    private static int VlanOf(ulong key) => (int)(key >> 48);

    [Fact]
    public void AFullTableEvictsFromThePortHoldingTheMostEntriesSoAFloodingPortPushesOutOnlyItsOwn()
    {
        const int capacity = 64;
        var table = new MacTable(capacity);
        var now = table.NowMs;
        var stations = Enumerable.Range(1, 10).Select(i => MacTable.Key(Frames.Station((uint)i), 0)).ToArray();
        foreach (var station in stations)
        {
            table.Learn(station, 1, now);
        }

        var random = new Random(7);
        for (var i = 0; i < 5000; i++)
        {
            var flooded = ((ulong)random.NextInt64() & 0xFEFF_FFFF_FFFFUL) | 0x0200_0000_0000UL;
            Assert.Equal(LearnResult.Learned, table.Learn(MacTable.Key(new MacAddress(flooded), 0), 2, now));
        }

        Assert.Equal(capacity, table.Count);
        Assert.All(stations, station => Assert.Equal(1, table.Lookup(station, now)));
        Assert.Equal(10, table.CountOn(1));
        Assert.Equal(capacity - 10, table.CountOn(2));
        Assert.True(table.EvictedCount >= 5000 - (capacity - 10), $"only {table.EvictedCount} evictions");
    }

    [Fact]
    public void TwoFloodingPortsShareAFullTableAndAQuietPortKeepsItsEntries()
    {
        const int capacity = 100;
        var table = new MacTable(capacity);
        var now = table.NowMs;
        table.Learn(MacTable.Key(Frames.Station(1), 0), 0, now);
        var random = new Random(11);
        for (var i = 0; i < 4000; i++)
        {
            var flooded = ((ulong)random.NextInt64() & 0xFEFF_FFFF_FFFFUL) | 0x0200_0000_0000UL;
            table.Learn(MacTable.Key(new MacAddress(flooded), 0), 1 + (i % 2), now);
        }

        Assert.Equal(capacity, table.Count);
        Assert.Equal(1, table.CountOn(0));
        Assert.InRange(table.CountOn(1), 48, 51);
        Assert.InRange(table.CountOn(2), 48, 51);
    }
}
