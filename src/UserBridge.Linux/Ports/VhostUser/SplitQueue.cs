namespace UserBridge.Linux.Ports.VhostUser;

/// <summary>
/// One virtqueue in the split layout (virtio 1.x, 2.7), as the device sees it: the descriptor table, the available ring
/// the guest fills and the used ring the switch fills, all in the guest's shared memory. The switch takes frames from a
/// transmit queue (<see cref="Take"/>) and puts frames into a receive queue (<see cref="Put"/>).
/// </summary>
/// <remarks>
/// <para>
/// <b>The guest is not trusted.</b> Every buffer is translated through <see cref="GuestMemory"/>, which refuses any
/// range outside the shared regions; a chain longer than its table (a loop), a head or next index outside the table, an
/// indirect table that is not a whole number of descriptors, lies outside the memory, nests, or is longer than the
/// queue, a writable buffer where only readable ones may be (and the reverse), and an available index that moves by more
/// than the queue's size are refused. A refusal marks the queue <see cref="Broken"/> and it is not used again: nothing is
/// read or written outside the guest's regions, and each descriptor field is read once (a guest that rewrites a
/// descriptor meanwhile changes nothing the checks saw).
/// </para>
/// <para>
/// <b>Ordering.</b> The available index is read with acquire semantics before the entries behind it; used entries are
/// written before the used index is published with release semantics. With <c>VIRTIO_RING_F_EVENT_IDX</c>, publishing
/// the used index and reading the guest's <c>used_event</c> (and writing <c>avail_event</c> and reading the available
/// index again) are separated by a full fence, as notification suppression needs, or both sides could wait.
/// </para>
/// <para>
/// <b>Threads.</b> One thread at a time drives a queue: the worker that receives from a transmit queue, or, for a
/// receive queue, the worker that holds the port's lock for it. The queue is built when its ring starts and dropped
/// after the port has left the bridge, so the protocol never changes one under a worker.
/// </para>
/// </remarks>
public sealed unsafe partial class SplitQueue
{
    public const ushort DescriptorNext = 1;
    public const ushort DescriptorWrite = 2;
    public const ushort DescriptorIndirect = 4;
    public const ushort AvailNoInterrupt = 1;
    public const ushort UsedNoNotify = 1;

    /// <summary><see cref="Take"/>: nothing is available.</summary>
    public const int Empty = -1;

    /// <summary><see cref="Take"/>: the guest broke the ring's rules; the queue is <see cref="Broken"/>.</summary>
    public const int Bad = -2;

    /// <summary><see cref="Take"/>: the chain was taken but its frame dropped, longer than the buffer.</summary>
    public const int TooLong = -3;

    /// <summary><see cref="Take"/>: the chain was taken but its frame dropped, shorter than its virtio-net header.</summary>
    public const int TooShort = -4;

    private const int DescriptorSize = 16;

    // Where num_buffers sits in the 12-byte virtio-net header.
    private const int NumBuffersOffset = 10;

    private readonly GuestMemory _memory;
    private readonly byte* _descriptors;
    private readonly byte* _avail;
    private readonly byte* _used;
    private readonly int _mask;
    private readonly bool _eventIndex;
    private readonly bool _indirect;
    private readonly int _headerSize;

    // The used entries of the frame being put (mergeable receive buffers: one per chain it fills).
    private readonly (ushort Head, uint Length)[] _pendingUsed;
    private ushort _lastAvail;
    private ushort _usedIndex;

    // The used index when the guest was last considered for a notification (DPDK's signalled_used).
    private ushort _signalledUsed;

    /// <summary>
    /// The queue of <paramref name="size"/> entries whose rings lie at the frontend's addresses <paramref name="descriptors"/>,
    /// <paramref name="avail"/> and <paramref name="used"/> (<c>SET_VRING_ADDR</c>), taking entries from
    /// <paramref name="nextAvail"/> on (<c>SET_VRING_BASE</c>). Frames carry a virtio-net header of
    /// <paramref name="headerSize"/> bytes (10, or 12 with <c>num_buffers</c>).
    /// </summary>
    public SplitQueue(GuestMemory memory, int size, ulong descriptors, ulong avail, ulong used, ushort nextAvail, bool eventIndex, bool indirect, int headerSize)
    {
        ArgumentNullException.ThrowIfNull(memory);
        if (size is <= 0 or > VhostUserProtocol.MaxQueueSize || (size & (size - 1)) != 0)
        {
            throw new VhostUserException($"a virtqueue of {size} entries (a power of two up to {VhostUserProtocol.MaxQueueSize})");
        }

        _memory = memory;
        Size = size;
        _mask = size - 1;
        _eventIndex = eventIndex;
        _indirect = indirect;
        _headerSize = headerSize;
        _descriptors = memory.FromFrontend(descriptors, (ulong)(DescriptorSize * size));
        _avail = memory.FromFrontend(avail, (ulong)(6 + (2 * size)));
        _used = memory.FromFrontend(used, (ulong)(6 + (8 * size)));
        if (_descriptors == null || _avail == null || _used == null)
        {
            throw new VhostUserException($"a virtqueue's rings (descriptors 0x{descriptors:x}, avail 0x{avail:x}, used 0x{used:x}) lie outside the guest's memory");
        }

        _pendingUsed = new (ushort, uint)[size];
        _lastAvail = nextAvail;
        _usedIndex = Volatile.Read(ref *(ushort*)(_used + 2));
        _signalledUsed = _usedIndex;
    }

    public int Size { get; }

    /// <summary>The next available entry the switch will take: what <c>GET_VRING_BASE</c> returns.</summary>
    public ushort NextAvail => _lastAvail;

    /// <summary>True once the guest broke the ring's rules; the queue is not used again.</summary>
    public bool Broken { get; private set; }

    /// <summary>What the guest did wrong, once <see cref="Broken"/>.</summary>
    public string? Fault { get; private set; }

    /// <summary>How many entries the guest made available that the switch has not taken (0 once broken).</summary>
    public int Pending => PendingFrom(_lastAvail);

    /// <summary>
    /// Takes the next chain the guest made available: its first <paramref name="header"/>.Length bytes into
    /// <paramref name="header"/>, the rest into <paramref name="frame"/>. Returns the frame's length, or
    /// <see cref="Empty"/>, <see cref="Bad"/>, <see cref="TooLong"/> or <see cref="TooShort"/>. The chain goes into the used ring, seen by the
    /// guest after <see cref="PublishUsed"/>.
    /// </summary>
    public int Take(Span<byte> header, Span<byte> frame)
    {
        if (PendingFrom(_lastAvail) == 0)
        {
            return Broken ? Bad : Empty;
        }

        var head = ReadHead(_lastAvail);
        if (head < 0)
        {
            return Bad;
        }

        _lastAvail++;
        var cursor = new ChainCursor(this, (ushort)head);
        long total = 0;
        var fits = true;
        while (cursor.Next(out var data, out var length, out var writable))
        {
            if (writable)
            {
                return Break("a writable buffer in a transmit chain");
            }

            // A buffer is copied only while the chain still fits the header and the frame buffer: a guest's length
            // may be anything its memory holds (gigabytes), never made into a span.
            fits &= total + length <= header.Length + frame.Length;
            if (fits)
            {
                var source = new ReadOnlySpan<byte>(data, (int)length);
                var intoHeader = (int)Math.Clamp(header.Length - total, 0, length);
                source[..intoHeader].CopyTo(header[(int)Math.Min(total, header.Length)..]);
                if (intoHeader < source.Length)
                {
                    source[intoHeader..].CopyTo(frame[(int)(total + intoHeader - header.Length)..]);
                }
            }

            total += length;
        }

        if (cursor.Fault is { } fault)
        {
            return Break(fault);
        }

        AddUsed(head, 0);
        return !fits ? TooLong : total < header.Length ? TooShort : (int)(total - header.Length);
    }

    /// <summary>
    /// Puts one frame into the guest's receive buffers: <paramref name="header"/> (the virtio-net header without
    /// <c>num_buffers</c>, which this fills when the header has room for it) then <paramref name="frame"/>. With
    /// <paramref name="mergeable"/>, across as many chains as it needs; otherwise into one. False when the guest has not
    /// made room enough available (nothing is taken then) or the queue is broken.
    /// </summary>
    public bool Put(ReadOnlySpan<byte> header, ReadOnlySpan<byte> frame, bool mergeable)
    {
        var need = (long)_headerSize + frame.Length;
        var next = _lastAvail;
        var available = PendingFrom(next);
        var chains = 0;
        long written = 0;
        var numBuffers = default(NumBuffersField);
        while (written < need)
        {
            if (available-- <= 0 || (!mergeable && chains > 0))
            {
                return false;
            }

            var head = ReadHead(next);
            if (head < 0)
            {
                return false;
            }

            next++;
            var chainWritten = WriteChain((ushort)head, header, frame, need, ref written, ref numBuffers);
            if (chainWritten < 0)
            {
                return false;
            }

            _pendingUsed[chains++] = ((ushort)head, (uint)chainWritten);
        }

        if (_headerSize > NumBuffersOffset)
        {
            numBuffers.Set(chains);
        }

        _lastAvail = next;
        for (var i = 0; i < chains; i++)
        {
            AddUsed(_pendingUsed[i].Head, _pendingUsed[i].Length);
        }

        return true;
    }

    /// <summary>Publishes the used entries added since the last call (release), for the guest to see.</summary>
    public void PublishUsed() => Volatile.Write(ref *(ushort*)(_used + 2), _usedIndex);

    /// <summary>
    /// Whether the guest asked to be told (its call eventfd written) about the used entries published since the last
    /// call: with event indexes when the used index passed the guest's <c>used_event</c>, otherwise unless it set
    /// <c>VRING_AVAIL_F_NO_INTERRUPT</c>; never when there are none.
    /// </summary>
    public bool NeedsNotification()
    {
        if (_usedIndex == _signalledUsed)
        {
            return false;
        }

        Interlocked.MemoryBarrier();
        bool needed;
        if (_eventIndex)
        {
            var usedEvent = Volatile.Read(ref *(ushort*)(_avail + 4 + (2 * Size)));
            needed = (ushort)(_usedIndex - usedEvent - 1) < (ushort)(_usedIndex - _signalledUsed);
        }
        else
        {
            needed = (Volatile.Read(ref *(ushort*)_avail) & AvailNoInterrupt) == 0;
        }

        _signalledUsed = _usedIndex;
        return needed;
    }

    /// <summary>
    /// Asks the guest to kick when it makes the next entry available (event indexes: <c>avail_event</c>; otherwise by
    /// clearing <c>VRING_USED_F_NO_NOTIFY</c>). Returns false when entries arrived meanwhile: the caller then goes on
    /// instead of waiting for a kick that will not come.
    /// </summary>
    public bool EnableNotifications()
    {
        if (_eventIndex)
        {
            Volatile.Write(ref *(ushort*)(_used + 4 + (8 * Size)), _lastAvail);
        }
        else
        {
            Volatile.Write(ref *(ushort*)_used, 0);
        }

        Interlocked.MemoryBarrier();
        return PendingFrom(_lastAvail) == 0;
    }

    private int PendingFrom(ushort next)
    {
        if (Broken)
        {
            return 0;
        }

        var pending = (ushort)(Volatile.Read(ref *(ushort*)(_avail + 2)) - next);
        if (pending > Size)
        {
            Break($"the available index moved by {pending} entries in a queue of {Size}");
            return 0;
        }

        return pending;
    }

    /// <summary>The head of the chain at available position <paramref name="position"/>, or -1 (and the queue broken).</summary>
    private int ReadHead(ushort position)
    {
        var head = Volatile.Read(ref *(ushort*)(_avail + 4 + (2 * (position & _mask))));
        if (head >= Size)
        {
            Break($"a chain head {head} outside a table of {Size}");
            return -1;
        }

        return head;
    }

    private void AddUsed(int head, uint length)
    {
        var entry = _used + 4 + (8 * (_usedIndex & _mask));
        *(uint*)entry = (uint)head;
        *(uint*)(entry + 4) = length;
        _usedIndex++;
    }

    private int Break(string fault)
    {
        if (!Broken)
        {
            Fault = fault;
            Broken = true;
        }

        return Bad;
    }

    /// <summary>Copies bytes <paramref name="offset"/>.. of the stream header-then-frame into <paramref name="destination"/>.</summary>
    private void WriteStream(ReadOnlySpan<byte> header, ReadOnlySpan<byte> frame, long offset, Span<byte> destination)
    {
        var done = 0;
        while (done < destination.Length)
        {
            var at = offset + done;
            int count;
            if (at < _headerSize)
            {
                count = Math.Min(destination.Length - done, _headerSize - (int)at);
                var fromHeader = header.Length > at ? header.Slice((int)at, Math.Min(count, header.Length - (int)at)) : [];
                fromHeader.CopyTo(destination[done..]);
                destination.Slice(done + fromHeader.Length, count - fromHeader.Length).Clear();
            }
            else
            {
                count = destination.Length - done;
                frame.Slice((int)(at - _headerSize), count).CopyTo(destination[done..]);
            }

            done += count;
        }
    }
}
