using UserBridge.Core.Events;

namespace UserBridge.Core.Learning;

/// <summary>
/// Inserting a new entry: an empty slot of its bucket within the capacity, else room made by eviction (fair when the table
/// is full: on the port that holds the most learned entries; within the bucket when only the bucket is full); and the
/// per-port counts every insert, move and removal keeps exact.
/// </summary>
public sealed unsafe partial class MacTable
{
    /// <summary>
    /// Evicts one learned entry of the port with the most of them, looking first in bucket <paramref name="first"/> (the
    /// new MAC's), then from a clock hand that moves to just after each entry it evicts. The largest port holds at least
    /// its share of the table, so the hand finds its next entry a few slots on (about four per port on the switch); it
    /// sweeps the whole table at most, and only when a race took that port's entries away meanwhile. False when no
    /// entry was found (the caller then evicts inside the bucket).
    /// </summary>
    private bool EvictFromLargestPort(int first)
    {
        var port = LargestPort();
        if (port < 0)
        {
            return false;
        }

        if (EvictOn(port, first, SlotsPerBucket) >= 0)
        {
            return true;
        }

        var evicted = EvictOn(port, Volatile.Read(ref _evictionHand), _slots);
        if (evicted < 0)
        {
            return false;
        }

        Volatile.Write(ref _evictionHand, (evicted + 1) & (_slots - 1));
        return true;
    }

    /// <summary>The port index with the most learned entries, or -1 when none has any.</summary>
    private int LargestPort()
    {
        var largest = -1;
        var most = 0;
        var span = Volatile.Read(ref _portSpan);
        for (var port = 0; port < span; port++)
        {
            var count = Volatile.Read(ref _portCounts[port]);
            if (count > most)
            {
                (largest, most) = (port, count);
            }
        }

        return largest;
    }

    /// <summary>
    /// Removes the first learned entry of <paramref name="port"/> among <paramref name="count"/> slots from
    /// <paramref name="start"/> (wrapping); returns its slot, or -1.
    /// </summary>
    private int EvictOn(int port, int start, int count)
    {
        for (var i = 0; i < count; i++)
        {
            var slot = (start + i) & (_slots - 1);
            var word = Volatile.Read(ref _cells[slot].Word);
            if ((word & (OccupiedBit | StaticBit)) == OccupiedBit && PortOf(word) == port && TryClear(slot, word))
            {
                Interlocked.Increment(ref _evicted);
                Report(BridgeEventKind.Evicted, slot, word);
                return slot;
            }
        }

        return -1;
    }

    private LearnResult Insert(int first, ulong tag, ulong word, long nowMs)
    {
        while (true)
        {
            var empty = FindEmpty(first);
            if (empty >= 0 && TryReserveEntry())
            {
                Volatile.Write(ref _cells[empty].LastSeenMs, nowMs);
                if (Interlocked.CompareExchange(ref _cells[empty].Word, word, 0) == 0)
                {
                    CountIn(word);
                    Interlocked.Increment(ref _learned);
                    RemoveDuplicates(first, tag);
                    Report(BridgeEventKind.Learned, empty, word);
                    return LearnResult.Learned;
                }

                Interlocked.Decrement(ref _count);
                continue;
            }

            // The table is full: make room by evicting from the port that holds the most entries, so a port flooding
            // new MACs pushes out its own and not the other ports' stations.
            if (empty >= 0 && EvictFromLargestPort(first))
            {
                continue;
            }

            var victim = FindOldestDynamic(first);
            if (victim < 0)
            {
                Interlocked.Increment(ref _learnFailures);
                return LearnResult.Full;
            }

            var old = Volatile.Read(ref _cells[victim].Word);
            if ((old & (OccupiedBit | StaticBit)) != OccupiedBit)
            {
                continue;
            }

            Volatile.Write(ref _cells[victim].LastSeenMs, nowMs);
            if (Interlocked.CompareExchange(ref _cells[victim].Word, word, old) == old)
            {
                Reassigned(old, word);
                Interlocked.Increment(ref _evicted);
                Interlocked.Increment(ref _learned);
                RemoveDuplicates(first, tag);
                Report(BridgeEventKind.Evicted, victim, old);
                Report(BridgeEventKind.Learned, victim, word);
                return LearnResult.Learned;
            }
        }
    }

    /// <summary>
    /// Takes one entry of the capacity before an empty slot is filled. Checking the count and incrementing it
    /// after the insert would let concurrent learners that all saw room push the count past the capacity.
    /// </summary>
    private bool TryReserveEntry()
    {
        var count = Volatile.Read(ref _count);
        while (count < Capacity)
        {
            var seen = Interlocked.CompareExchange(ref _count, count + 1, count);
            if (seen == count)
            {
                return true;
            }

            count = seen;
        }

        return false;
    }

    private int FindEmpty(int first)
    {
        for (var i = first; i < first + SlotsPerBucket; i++)
        {
            if ((Volatile.Read(ref _cells[i].Word) & OccupiedBit) == 0)
            {
                return i;
            }
        }

        return -1;
    }

    private int FindOldestDynamic(int first)
    {
        var oldest = -1;
        var oldestMs = long.MaxValue;
        for (var i = first; i < first + SlotsPerBucket; i++)
        {
            var word = Volatile.Read(ref _cells[i].Word);
            if ((word & (OccupiedBit | StaticBit)) == OccupiedBit && Volatile.Read(ref _cells[i].LastSeenMs) < oldestMs)
            {
                oldest = i;
                oldestMs = Volatile.Read(ref _cells[i].LastSeenMs);
            }
        }

        return oldest;
    }

    /// <summary>After an insert, keeps only the first copy of a key that a concurrent learner also inserted.</summary>
    private void RemoveDuplicates(int first, ulong tag)
    {
        var seen = false;
        for (var i = first; i < first + SlotsPerBucket; i++)
        {
            var word = Volatile.Read(ref _cells[i].Word);
            if ((word & OccupiedBit) == 0 || TagOf(word) != tag)
            {
                continue;
            }

            if (seen && (word & StaticBit) == 0 && Interlocked.CompareExchange(ref _cells[i].Word, 0, word) == word)
            {
                CountOut(word);
                Interlocked.Decrement(ref _count);
            }

            seen = true;
        }
    }

    /// <summary>Moves one entry of the per-port counts from the port of <paramref name="before"/> to that of <paramref name="after"/>.</summary>
    private void Reassigned(ulong before, ulong after)
    {
        CountOut(before);
        CountIn(after);
    }

    /// <summary>Counts the entry <paramref name="word"/> on its port when it is a learned one, and widens the range of ports eviction looks at.</summary>
    private void CountIn(ulong word)
    {
        if ((word & StaticBit) != 0)
        {
            return;
        }

        var port = PortOf(word);
        Interlocked.Increment(ref _portCounts[port]);
        var span = Volatile.Read(ref _portSpan);
        while (port >= span)
        {
            var seen = Interlocked.CompareExchange(ref _portSpan, port + 1, span);
            if (seen == span)
            {
                break;
            }

            span = seen;
        }
    }

    /// <summary>Takes the entry <paramref name="word"/> off its port's count when it is a learned one.</summary>
    private void CountOut(ulong word)
    {
        if ((word & StaticBit) == 0)
        {
            Interlocked.Decrement(ref _portCounts[PortOf(word)]);
        }
    }
}
