using System.Buffers.Binary;
using Tmds.Linux;
using UserBridge.Core.Offload;

namespace UserBridge.Linux.Tests.VhostUser;

/// <summary>The guest's driver side of the test frontend: descriptors, available and used rings, kicks and calls.</summary>
internal sealed unsafe partial class TestFrontend
{
    /// <summary>Makes <paramref name="count"/> receive buffers of <paramref name="size"/> bytes available on queue 0.</summary>
    public void PostReceiveBuffers(int count, uint size = BufferSize, int queue = 0)
    {
        for (var i = 0; i < count; i++)
        {
            var index = (ushort)(_availIndex[queue] % QueueSize);
            WriteDescriptor(queue, index, Guest(BufferOffset(queue, index)), size, 2, 0);
            Publish(queue, index);
        }
    }

    /// <summary>Puts one frame (behind a virtio-net header from <paramref name="offload"/>) on the transmit queue and kicks.</summary>
    public void Transmit(ReadOnlySpan<byte> frame, VirtioNetHeader offload = default, bool kick = true, int queue = 1)
    {
        var index = (ushort)(_nextTxDescriptor++ % QueueSize);
        var buffer = new Span<byte>(At(BufferOffset(queue, index)), BufferSize);
        offload.Write(buffer);
        buffer[10] = 0;
        buffer[11] = 0;
        frame.CopyTo(buffer[HeaderSize..]);
        WriteDescriptor(queue, index, Guest(BufferOffset(queue, index)), (uint)(HeaderSize + frame.Length), 0, 0);
        Publish(queue, index);
        if (kick)
        {
            Kick(queue);
        }
    }

    /// <summary>Makes <paramref name="head"/> available on <paramref name="queue"/> (the chain written by the caller).</summary>
    public void Publish(int queue, ushort head)
    {
        var avail = At(AvailOffset(queue));
        *(ushort*)(avail + 4 + (2 * (_availIndex[queue] % QueueSize))) = head;
        _availIndex[queue]++;
        Volatile.Write(ref *(ushort*)(avail + 2), _availIndex[queue]);
    }

    /// <summary>Sets the available index itself (a guest that lies about it).</summary>
    public void SetAvailIndex(int queue, ushort value)
    {
        _availIndex[queue] = value;
        Volatile.Write(ref *(ushort*)(At(AvailOffset(queue)) + 2), value);
    }

    public void WriteDescriptor(int queue, int index, ulong address, uint length, ushort flags, ushort next) =>
        WriteDescriptor(At(DescriptorsOffset(queue)), index, address, length, flags, next);

    public static void WriteDescriptor(byte* table, int index, ulong address, uint length, ushort flags, ushort next)
    {
        var descriptor = table + (16 * index);
        *(ulong*)descriptor = address;
        *(uint*)(descriptor + 8) = length;
        *(ushort*)(descriptor + 12) = flags;
        *(ushort*)(descriptor + 14) = next;
    }

    public void Kick(int queue)
    {
        ulong one = 1;
        _ = LibC.write(_kick[queue], &one, sizeof(ulong));
    }

    /// <summary>The used entries the switch published on <paramref name="queue"/> since the last call: (head, length).</summary>
    public List<(uint Head, uint Length)> TakeUsed(int queue)
    {
        var used = At(UsedOffset(queue));
        var index = Volatile.Read(ref *(ushort*)(used + 2));
        var entries = new List<(uint, uint)>();
        while (_lastUsed[queue] != index)
        {
            var entry = used + 4 + (8 * (_lastUsed[queue] % QueueSize));
            entries.Add((*(uint*)entry, *(uint*)(entry + 4)));
            _lastUsed[queue]++;
        }

        return entries;
    }

    /// <summary>
    /// The frames the switch delivered on queue 0 since the last call: each with its header and the number of buffers
    /// it says it spans (merged back from consecutive used entries).
    /// </summary>
    public List<(VirtioNetHeader Header, int Buffers, byte[] Frame)> TakeReceived(int queue = 0)
    {
        var frames = new List<(VirtioNetHeader, int, byte[])>();
        var used = TakeUsed(queue);
        for (var i = 0; i < used.Count;)
        {
            var first = new ReadOnlySpan<byte>(At(BufferOffset(queue, (int)used[i].Head)), (int)used[i].Length);
            var buffers = BinaryPrimitives.ReadUInt16LittleEndian(first[10..]);
            var bytes = new List<byte>(first[HeaderSize..].ToArray());
            for (var j = 1; j < buffers; j++)
            {
                bytes.AddRange(new ReadOnlySpan<byte>(At(BufferOffset(queue, (int)used[i + j].Head)), (int)used[i + j].Length).ToArray());
            }

            frames.Add((VirtioNetHeader.Read(first), buffers, [.. bytes]));
            i += Math.Max((int)buffers, 1);
        }

        return frames;
    }

    /// <summary>How many times the switch wrote queue <paramref name="queue"/>'s call eventfd since the last call (0 or more).</summary>
    public ulong TakeCalls(int queue)
    {
        ulong value = 0;
        _ = LibC.read(_call[queue], &value, sizeof(ulong));
        return value;
    }

    /// <summary>Sets the guest's <c>used_event</c> on <paramref name="queue"/> (event indexes).</summary>
    public void SetUsedEvent(int queue, ushort value) => Volatile.Write(ref *(ushort*)(At(AvailOffset(queue)) + 4 + (2 * QueueSize)), value);

    public ushort AvailEvent(int queue) => Volatile.Read(ref *(ushort*)(At(UsedOffset(queue)) + 4 + (8 * QueueSize)));
}
