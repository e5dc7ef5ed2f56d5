using UserBridge.Core.Events;

namespace UserBridge.Core;

/// <summary>Fair eviction: when the table is full, room is made on the port that holds the most learned entries.</summary>
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
}
