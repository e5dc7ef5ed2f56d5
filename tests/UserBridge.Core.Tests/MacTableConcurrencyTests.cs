using System.Collections.Concurrent;
using System.Diagnostics;
using UserBridge.Core.Frames;
using UserBridge.Core.Learning;

namespace UserBridge.Core.Tests;

/// <summary>
/// Learners and readers hammer one table from several threads. Each test runs for a bounded time (a few
/// hundred milliseconds of rounds) and joins every thread with a deadline.
/// </summary>
public sealed class MacTableConcurrencyTests
{
    private const int Learners = 4;
    private const int Readers = 2;
    private const int OwnKeysPerLearner = 1500;
    private const int SharedKeys = OwnKeysPerLearner / 3;
    private static readonly TimeSpan Budget = TimeSpan.FromMilliseconds(300);
    private static readonly TimeSpan JoinDeadline = TimeSpan.FromSeconds(30);

    [Fact]
    public void ConcurrentLearnersLoseNoEntryAndReadersNeverSeeATornOne()
    {
        var clock = Stopwatch.StartNew();
        var round = 0;
        while (round < 3 || clock.Elapsed < Budget)
        {
            RunLearnAndLookupRound(new Random(round));
            round++;
        }
    }

    [Fact]
    public void ConcurrentLearnersNeverGrowTheTableBeyondItsCapacity()
    {
        const int capacity = 64;
        var clock = Stopwatch.StartNew();
        var round = 0;
        while (round < 3 || clock.Elapsed < Budget)
        {
            RunCapacityRound(new Random(round), capacity);
            round++;
        }
    }

    private static void RunLearnAndLookupRound(Random random)
    {
        var ownKeys = Learners * OwnKeysPerLearner;
        var keys = DistinctKeys(random, ownKeys + SharedKeys);
        var table = new MacTable(MacTable.DefaultCapacity);
        using var start = new Barrier(Learners + Readers);
        var learnersLeft = Learners;
        var failures = new ConcurrentQueue<string>();
        var threads = new List<Thread>();

        // Key i < ownKeys belongs to learner i / OwnKeysPerLearner alone; the rest are learned by every
        // learner, in the same order, so that several threads insert the same new key at the same time.
        bool IsAllowed(int index, int port) =>
            index < ownKeys ? port == index / OwnKeysPerLearner : port is >= 0 and < Learners;

        for (var t = 0; t < Learners; t++)
        {
            var learner = t;
            threads.Add(Run(failures, () =>
            {
                start.SignalAndWait();
                for (var i = 0; i < OwnKeysPerLearner; i++)
                {
                    table.Learn(keys[(learner * OwnKeysPerLearner) + i], learner, 0);
                    if (i % 3 == 0)
                    {
                        table.Learn(keys[ownKeys + (i / 3)], learner, 0);
                    }
                }

                Interlocked.Decrement(ref learnersLeft);
            }));
        }

        for (var r = 0; r < Readers; r++)
        {
            threads.Add(Run(failures, () =>
            {
                start.SignalAndWait();
                do
                {
                    for (var i = 0; i < keys.Length; i++)
                    {
                        var port = table.Lookup(keys[i], 0);
                        if (port >= 0 && !IsAllowed(i, port))
                        {
                            failures.Enqueue($"torn entry: key 0x{keys[i]:x} read on port {port}, where it was never learned");
                        }
                    }
                }
                while (Volatile.Read(ref learnersLeft) > 0);
            }));
        }

        JoinAll(threads);
        Assert.Empty(failures);
        AssertEveryKeyIsWhereItMayBe(table, keys, IsAllowed);
    }

    /// <summary>Every key is in the table once, on a port it was learned on, and the table lists exactly the keys.</summary>
    private static void AssertEveryKeyIsWhereItMayBe(MacTable table, ulong[] keys, Func<int, int, bool> isAllowed)
    {
        var lost = new List<string>();
        for (var i = 0; i < keys.Length; i++)
        {
            var port = table.Lookup(keys[i], 0);
            if (!isAllowed(i, port))
            {
                lost.Add($"key 0x{keys[i]:x} (#{i}) found on port {port}");
            }
        }

        Assert.True(lost.Count == 0, $"{lost.Count} learned keys are missing or on a wrong port, e.g. {string.Join("; ", lost.Take(5))}");
        Assert.Equal(keys.Length, table.Count);
        var listed = table.GetEntries().Select(e => MacTable.Key(e.Mac, e.Vlan)).ToList();
        Assert.Equal(keys.Length, listed.Count);
        Assert.True(keys.ToHashSet().SetEquals(listed), "the listed entries are not exactly the learned keys");
    }

    private static void RunCapacityRound(Random random, int capacity)
    {
        var table = new MacTable(capacity);
        var keys = DistinctKeys(random, Learners * 4000);
        using var start = new Barrier(Learners + 2);
        var learnersLeft = Learners;
        var maxCount = 0;
        var failures = new ConcurrentQueue<string>();
        var threads = new List<Thread>();
        for (var t = 0; t < Learners; t++)
        {
            var learner = t;
            threads.Add(Run(failures, () =>
            {
                start.SignalAndWait();
                for (var i = learner; i < keys.Length; i += Learners)
                {
                    table.Learn(keys[i], learner, i);
                }

                Interlocked.Decrement(ref learnersLeft);
            }));
        }

        // The flusher keeps bringing the table below its capacity, so that learners race to fill it again.
        threads.Add(Run(failures, () =>
        {
            start.SignalAndWait();
            while (Volatile.Read(ref learnersLeft) > 0)
            {
                table.FlushDynamic();
                Thread.Yield();
            }
        }));
        threads.Add(Run(failures, () =>
        {
            start.SignalAndWait();
            while (Volatile.Read(ref learnersLeft) > 0)
            {
                maxCount = Math.Max(maxCount, table.Count);
            }
        }));

        JoinAll(threads);
        Assert.Empty(failures);
        Assert.True(maxCount <= capacity, $"the table held {maxCount} entries at one point, more than its capacity {capacity}");
        Assert.True(table.Count <= capacity, $"the table holds {table.Count} entries, more than its capacity {capacity}");
        var entries = table.GetEntries();
        Assert.Equal(table.Count, entries.Count);

        // Every learn, eviction and flush that raced kept the per-port counts exact.
        for (var port = 0; port < Learners; port++)
        {
            Assert.Equal(entries.Count(entry => entry.Port == port), table.CountOn(port));
        }
    }

    /// <summary>Distinct keys of random unicast MACs in random VLANs.</summary>
    private static ulong[] DistinctKeys(Random random, int count)
    {
        var keys = new HashSet<ulong>();
        while (keys.Count < count)
        {
            var mac = new MacAddress((ulong)random.NextInt64() & 0xFEFF_FFFF_FFFFUL);
            keys.Add(MacTable.Key(mac, random.Next(4096)));
        }

        return [.. keys];
    }

    private static Thread Run(ConcurrentQueue<string> failures, Action body)
    {
        var thread = new Thread(() =>
        {
            try
            {
                body();
            }
            catch (Exception ex)
            {
                failures.Enqueue(ex.ToString());
            }
        })
        { IsBackground = true };
        thread.Start();
        return thread;
    }

    private static void JoinAll(List<Thread> threads)
    {
        foreach (var thread in threads)
        {
            Assert.True(thread.Join(JoinDeadline), $"a test thread did not finish within {JoinDeadline.TotalSeconds} s");
        }
    }
}
