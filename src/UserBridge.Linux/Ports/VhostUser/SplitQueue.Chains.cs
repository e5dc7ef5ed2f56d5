namespace UserBridge.Linux.Ports.VhostUser;

/// <summary>Walking a descriptor chain, every step checked, and writing a frame into one.</summary>
public sealed unsafe partial class SplitQueue
{
    /// <summary>
    /// Writes the stream (header, then frame) from <paramref name="written"/> on into the buffers of the chain at
    /// <paramref name="head"/>, up to <paramref name="need"/> bytes in all; returns how many it wrote there, or -1 when
    /// the chain broke the rules (the queue is then <see cref="Broken"/>).
    /// </summary>
    private long WriteChain(ushort head, ReadOnlySpan<byte> header, ReadOnlySpan<byte> frame, long need, ref long written, ref NumBuffersField numBuffers)
    {
        var cursor = new ChainCursor(this, head);
        long chainWritten = 0;
        while (written < need && cursor.Next(out var data, out var length, out var writable))
        {
            if (!writable)
            {
                Break("a read-only buffer in a receive chain");
                return -1;
            }

            var count = (int)Math.Min(length, need - written);
            numBuffers.Find(data, written, count);
            WriteStream(header, frame, written, new Span<byte>(data, count));
            written += count;
            chainWritten += count;
        }

        if (cursor.Fault is { } fault)
        {
            Break(fault);
            return -1;
        }

        return chainWritten;
    }

    /// <summary>Where <c>num_buffers</c> (bytes 10 and 11 of the header) landed in the guest's buffers: it is known only once the frame is in.</summary>
    private struct NumBuffersField
    {
        private byte* _low;
        private byte* _high;

        /// <summary>Notes where the field's bytes are if they fall in <paramref name="count"/> bytes written at stream offset <paramref name="written"/>.</summary>
        public void Find(byte* data, long written, int count)
        {
            if (written <= NumBuffersOffset && NumBuffersOffset < written + count)
            {
                _low = data + (NumBuffersOffset - written);
            }

            if (written <= NumBuffersOffset + 1 && NumBuffersOffset + 1 < written + count)
            {
                _high = data + (NumBuffersOffset + 1 - written);
            }
        }

        public readonly void Set(int chains)
        {
            *_low = (byte)chains;
            *_high = (byte)(chains >> 8);
        }
    }

    /// <summary>
    /// Walks one chain, following an indirect table where the queue allows them, with every step checked: see the
    /// class remarks. <see cref="Fault"/> says why a walk stopped early.
    /// </summary>
    private ref struct ChainCursor(SplitQueue queue, ushort head)
    {
        private byte* _table = queue._descriptors;
        private int _tableSize = queue.Size;
        private int _index = head;
        private int _steps;
        private bool _indirect;
        private bool _done;

        public string? Fault { get; private set; }

        public bool Next(out byte* data, out uint length, out bool writable)
        {
            data = null;
            length = 0;
            writable = false;
            while (!_done)
            {
                if (_steps++ >= _tableSize)
                {
                    return Stop($"a chain longer than its table of {_tableSize} (a loop)");
                }

                var descriptor = _table + (DescriptorSize * _index);
                var address = *(ulong*)descriptor;
                var size = *(uint*)(descriptor + 8);
                var flags = *(ushort*)(descriptor + 12);
                var next = *(ushort*)(descriptor + 14);
                if ((flags & DescriptorIndirect) != 0)
                {
                    if (!EnterIndirect(address, size, flags))
                    {
                        return false;
                    }

                    continue;
                }

                data = queue._memory.FromGuest(address, size);
                if (data == null)
                {
                    return Stop($"a buffer of {size} bytes at 0x{address:x} outside the guest's memory");
                }

                length = size;
                writable = (flags & DescriptorWrite) != 0;
                if ((flags & DescriptorNext) == 0)
                {
                    _done = true;
                }
                else if (next >= _tableSize)
                {
                    return Stop($"a next index {next} outside a table of {_tableSize}");
                }
                else
                {
                    _index = next;
                }

                return true;
            }

            return false;
        }

        private bool EnterIndirect(ulong address, uint size, ushort flags)
        {
            if (!queue._indirect || _indirect || (flags & DescriptorNext) != 0)
            {
                return Stop(!queue._indirect ? "an indirect descriptor, not negotiated" : _indirect ? "a nested indirect table" : "an indirect descriptor with a next");
            }

            if (size == 0 || size % DescriptorSize != 0 || size / DescriptorSize > (uint)queue.Size)
            {
                return Stop($"an indirect table of {size} bytes (a whole number of descriptors, at most {queue.Size})");
            }

            var table = queue._memory.FromGuest(address, size);
            if (table == null)
            {
                return Stop($"an indirect table of {size} bytes at 0x{address:x} outside the guest's memory");
            }

            _table = table;
            _tableSize = (int)(size / DescriptorSize);
            _index = 0;
            _steps = 0;
            _indirect = true;
            return true;
        }

        private bool Stop(string fault)
        {
            Fault = fault;
            _done = true;
            return false;
        }
    }
}
