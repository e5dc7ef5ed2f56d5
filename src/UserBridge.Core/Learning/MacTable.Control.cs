using UserBridge.Core.Events;
using UserBridge.Core.Frames;

namespace UserBridge.Core.Learning;

/// <summary>The control-plane side of the MAC table: static entries, removal, aging sweeps, listing.</summary>
public sealed unsafe partial class MacTable
{
    /// <summary>
    /// Adds or replaces a static entry: never aged, never evicted, never moved by learning. Returns false
    /// when the key's bucket holds only static entries.
    /// </summary>
    public bool AddStatic(MacAddress mac, int vlan, int port)
    {
        var (bucket, tag) = MacKey.Split(Key(mac, vlan), _bucketBits);
        var first = bucket * SlotsPerBucket;
        var word = MakeWord(tag, port, isStatic: true);
        var nowMs = NowMs;
        while (true)
        {
            var slot = Find(first, tag);
            if (slot >= 0)
            {
                var current = Volatile.Read(ref _cells[slot].Word);
                if ((current & OccupiedBit) != 0 && TagOf(current) == tag && Interlocked.CompareExchange(ref _cells[slot].Word, word, current) == current)
                {
                    Reassigned(current, word);
                    Volatile.Write(ref _cells[slot].LastSeenMs, nowMs);
                    return true;
                }

                continue;
            }

            var result = Insert(first, tag, word, nowMs);
            return result == LearnResult.Learned;
        }
    }

    /// <summary>Removes the entry of (<paramref name="vlan"/>, <paramref name="mac"/>), static or not.</summary>
    public bool Remove(MacAddress mac, int vlan)
    {
        var (bucket, tag) = MacKey.Split(Key(mac, vlan), _bucketBits);
        var first = bucket * SlotsPerBucket;
        var removed = false;
        int slot;
        while ((slot = Find(first, tag)) >= 0)
        {
            removed |= TryClear(slot, Volatile.Read(ref _cells[slot].Word));
        }

        return removed;
    }

    /// <summary>Removes every entry on <paramref name="port"/> (static ones only when asked). Returns the count.</summary>
    public int FlushPort(int port, bool includeStatic = true) =>
        RemoveWhere(static (word, _, arg) => PortOf(word) == arg.Port && (arg.IncludeStatic || (word & StaticBit) == 0), (Port: port, IncludeStatic: includeStatic));

    /// <summary>Removes every dynamic entry.</summary>
    public int FlushDynamic() => RemoveWhere(static (word, _, _) => (word & StaticBit) == 0, 0);

    /// <summary>Removes the dynamic entries not seen for <see cref="AgingTime"/>. Returns how many were aged out.</summary>
    public int Sweep()
    {
        var nowMs = NowMs;
        var aged = RemoveWhere(
            static (word, lastSeenMs, arg) => (word & StaticBit) == 0 && arg.NowMs - lastSeenMs > arg.AgingMs,
            (NowMs: nowMs, AgingMs: _agingMs),
            BridgeEventKind.Aged);
        Interlocked.Add(ref _aged, aged);
        return aged;
    }

    /// <summary>A consistent copy of every entry (each entry is read atomically; the list is not a snapshot in time).</summary>
    public List<MacTableEntry> GetEntries()
    {
        var nowMs = NowMs;
        var entries = new List<MacTableEntry>(Count);
        for (var slot = 0; slot < _slots; slot++)
        {
            if (TryRead(slot, nowMs, out var entry))
            {
                entries.Add(entry);
            }
        }

        return entries;
    }

    /// <summary>
    /// Copies entries into <paramref name="into"/> from slot <paramref name="cursor"/> on, until it is full or the table
    /// ends, and moves the cursor past the slots read; returns how many were copied (0 once the cursor reached the end).
    /// A listing read this way holds a few entries at a time instead of the whole table: as with
    /// <see cref="GetEntries"/>, each entry is read atomically and the listing is not a snapshot in time.
    /// </summary>
    public int ReadEntries(ref int cursor, Span<MacTableEntry> into)
    {
        var nowMs = NowMs;
        var copied = 0;
        while (copied < into.Length && (uint)cursor < (uint)_slots)
        {
            if (TryRead(cursor, nowMs, out var entry))
            {
                into[copied++] = entry;
            }

            cursor++;
        }

        return copied;
    }

    /// <summary>The live entry in <paramref name="slot"/>, if it holds one that has not aged out by <paramref name="nowMs"/>.</summary>
    private bool TryRead(int slot, long nowMs, out MacTableEntry entry)
    {
        entry = default;
        var word = Volatile.Read(ref _cells[slot].Word);
        if ((word & OccupiedBit) == 0)
        {
            return false;
        }

        var isStatic = (word & StaticBit) != 0;
        var ageMs = Math.Max(0, nowMs - Volatile.Read(ref _cells[slot].LastSeenMs));
        if (!isStatic && ageMs > _agingMs)
        {
            return false;
        }

        var key = KeyAt(slot, word);
        entry = new MacTableEntry(
            new MacAddress(key & 0xFFFF_FFFF_FFFFUL),
            (int)(key >> 48),
            PortOf(word),
            isStatic ? TimeSpan.Zero : TimeSpan.FromMilliseconds(ageMs),
            isStatic);
        return true;
    }

    /// <summary>Removes the entries <paramref name="predicate"/> picks; with <paramref name="report"/>, publishes each as that event.</summary>
    private int RemoveWhere<TArg>(Func<ulong, long, TArg, bool> predicate, TArg arg, BridgeEventKind? report = null)
    {
        var removed = 0;
        for (var slot = 0; slot < _slots; slot++)
        {
            var word = Volatile.Read(ref _cells[slot].Word);
            if ((word & OccupiedBit) != 0 && predicate(word, Volatile.Read(ref _cells[slot].LastSeenMs), arg) && TryClear(slot, word))
            {
                removed++;
                if (report is { } kind)
                {
                    Report(kind, slot, word);
                }
            }
        }

        return removed;
    }

    /// <summary>The (VLAN, MAC) key of the entry <paramref name="word"/> stored in <paramref name="slot"/>.</summary>
    private ulong KeyAt(int slot, ulong word) => MacKey.Join(slot / SlotsPerBucket, TagOf(word), _bucketBits);

    private bool TryClear(int slot, ulong word)
    {
        if ((word & OccupiedBit) == 0 || Interlocked.CompareExchange(ref _cells[slot].Word, 0, word) != word)
        {
            return false;
        }

        CountOut(word);
        Interlocked.Decrement(ref _count);
        return true;
    }
}
