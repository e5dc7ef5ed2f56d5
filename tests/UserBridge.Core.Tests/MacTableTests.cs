using Microsoft.Extensions.Time.Testing;
using UserBridge.Core.Frames;
using UserBridge.Core.Learning;

namespace UserBridge.Core.Tests;

public sealed class MacTableTests
{
    private static readonly MacAddress StationA = Frames.Station(0xA);
    private static readonly MacAddress StationB = Frames.Station(0xB);
    private static readonly MacAddress StationC = Frames.Station(0xC);

    [Fact]
    public void ReportsWhatLearnDid()
    {
        var table = new MacTable();
        var key = MacTable.Key(StationA, 0);

        Assert.Equal(LearnResult.Learned, table.Learn(key, 1, 0));
        Assert.Equal(LearnResult.Refreshed, table.Learn(key, 1, 5));
        Assert.Equal(LearnResult.Moved, table.Learn(key, 2, 10));
        Assert.Equal(1, table.Count);
        Assert.Equal(1, table.LearnedCount);
        Assert.Equal(1, table.MovedCount);
    }

    [Fact]
    public void ListsExactlyTheLearnedEntriesWithTheirAges()
    {
        var time = new FakeTimeProvider();
        var table = new MacTable(1024, TimeSpan.FromSeconds(60), time);
        table.Learn(MacTable.Key(StationA, 0), 1, table.NowMs);
        time.Advance(TimeSpan.FromMilliseconds(1500));
        table.Learn(MacTable.Key(StationB, 100), 2, table.NowMs);
        time.Advance(TimeSpan.FromMilliseconds(2500));
        table.Learn(MacTable.Key(StationA, 4095), 3, table.NowMs);
        Assert.True(table.AddStatic(StationC, 7, 4));
        time.Advance(TimeSpan.FromSeconds(6));

        MacTableEntry[] expected =
        [
            new(StationA, 0, 1, TimeSpan.FromSeconds(10), false),
            new(StationB, 100, 2, TimeSpan.FromMilliseconds(8500), false),
            new(StationA, 4095, 3, TimeSpan.FromSeconds(6), false),
            new(StationC, 7, 4, TimeSpan.Zero, true),
        ];
        Assert.Equal(expected, table.GetEntries().OrderBy(e => e.Port));
        Assert.Equal(4, table.Count);
    }

    [Fact]
    public void ListsEveryKeyOfAFullBucketBackExactly()
    {
        var table = new MacTable(1024);
        var keys = BucketKeys.InBucket(1024, bucket: 321, MacTable.SlotsPerBucket);
        for (var i = 0; i < keys.Length; i++)
        {
            Assert.Equal(LearnResult.Learned, table.Learn(keys[i], i, 0));
        }

        var listed = table.GetEntries().Select(e => (MacTable.Key(e.Mac, e.Vlan), e.Port)).OrderBy(e => e.Port);

        Assert.Equal(keys.Select((key, port) => (key, port)), listed);
    }

    [Fact]
    public void AddsAndReplacesStaticEntries()
    {
        var table = new MacTable();
        table.Learn(MacTable.Key(StationA, 0), 1, 0);

        Assert.True(table.AddStatic(StationA, 0, 5));
        Assert.True(table.AddStatic(StationB, 3, 6));
        Assert.True(table.AddStatic(StationB, 3, 7));

        Assert.Equal(2, table.Count);
        Assert.Equal(5, table.Lookup(StationA, 0));
        Assert.Equal(7, table.Lookup(StationB, 3));
        Assert.All(table.GetEntries(), e => Assert.True(e.IsStatic));
    }

    [Fact]
    public void LearningNeverMovesAStaticEntry()
    {
        var table = new MacTable();
        Assert.True(table.AddStatic(StationA, 0, 1));

        Assert.Equal(LearnResult.StaticConflict, table.Learn(MacTable.Key(StationA, 0), 2, table.NowMs));

        Assert.Equal(1, table.Lookup(StationA, 0));
        Assert.Equal(0, table.MovedCount);
        Assert.True(Assert.Single(table.GetEntries()).IsStatic);
    }

    [Fact]
    public void RemovesOneEntryStaticOrDynamic()
    {
        var table = new MacTable();
        table.Learn(MacTable.Key(StationA, 0), 1, table.NowMs);
        table.Learn(MacTable.Key(StationA, 5), 1, table.NowMs);
        table.AddStatic(StationB, 0, 2);

        Assert.True(table.Remove(StationA, 0));
        Assert.True(table.Remove(StationB, 0));
        Assert.False(table.Remove(StationB, 0));
        Assert.False(table.Remove(StationC, 0));

        Assert.Equal(1, table.Count);
        Assert.Equal(-1, table.Lookup(StationA, 0));
        Assert.Equal(1, table.Lookup(StationA, 5));
        Assert.Equal(-1, table.Lookup(StationB, 0));
    }

    [Fact]
    public void FlushPortRemovesThatPortsEntriesAndKeepsStaticOnesWhenAsked()
    {
        var table = new MacTable();
        table.Learn(MacTable.Key(StationA, 0), 1, table.NowMs);
        table.Learn(MacTable.Key(StationB, 0), 1, table.NowMs);
        table.Learn(MacTable.Key(StationC, 0), 2, table.NowMs);
        table.AddStatic(StationC, 9, 1);

        Assert.Equal(2, table.FlushPort(1, includeStatic: false));
        Assert.Equal(2, table.Count);
        Assert.Equal(1, table.Lookup(StationC, 9));
        Assert.Equal(2, table.Lookup(StationC, 0));

        Assert.Equal(1, table.FlushPort(1));
        Assert.Equal(-1, table.Lookup(StationC, 9));
        Assert.Equal((StationC, 0, 2), Assert.Single(table.GetEntries().Select(e => (e.Mac, e.Vlan, e.Port))));
    }

    [Fact]
    public void FlushDynamicKeepsOnlyStaticEntries()
    {
        var table = new MacTable();
        table.Learn(MacTable.Key(StationA, 0), 1, table.NowMs);
        table.Learn(MacTable.Key(StationB, 0), 2, table.NowMs);
        table.AddStatic(StationC, 0, 3);

        Assert.Equal(2, table.FlushDynamic());

        Assert.Equal(1, table.Count);
        Assert.Equal(new MacTableEntry(StationC, 0, 3, TimeSpan.Zero, true), Assert.Single(table.GetEntries()));
    }

    [Fact]
    public void ReadingInSmallPiecesListsTheSameEntriesAsGetEntries()
    {
        var table = new MacTable(4096, timeProvider: new FakeTimeProvider());
        for (var i = 0; i < 1000; i++)
        {
            table.Learn(MacTable.Key(new MacAddress(0x0200_0000_0000UL + (ulong)i), i % 7), i % 5, table.NowMs);
        }

        table.AddStatic(StationC, 7, 4);

        var read = new List<MacTableEntry>();
        var piece = new MacTableEntry[3];
        var cursor = 0;
        int copied;
        while ((copied = table.ReadEntries(ref cursor, piece)) > 0)
        {
            read.AddRange(piece.Take(copied));
        }

        Assert.Equal(1001, read.Count);
        Assert.Equal(table.GetEntries(), read);
        Assert.Equal(0, table.ReadEntries(ref cursor, piece));
    }
}
