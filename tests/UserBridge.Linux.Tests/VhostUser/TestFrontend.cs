using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Tmds.Linux;
using UserBridge.Linux.Interop;
using UserBridge.Linux.Ports.VhostUser;

namespace UserBridge.Linux.Tests.VhostUser;

/// <summary>
/// A vhost-user frontend written by the test, playing both QEMU (the protocol: messages with fds over a socket pair) and
/// the guest's virtio-net driver (rings and buffers in a memfd it shares). Queue 0 receives, queue 1 transmits. The
/// region's guest-physical and frontend addresses differ from each other, so every translation the switch makes is
/// checked.
/// </summary>
internal sealed unsafe partial class TestFrontend : IDisposable
{
    public const ulong GuestBase = 0x4000_0000;
    public const ulong FrontendBase = 0x7000_0000_0000;
    public const int RegionSize = 8 << 20;
    public const int QueueSize = 256;
    public const int BufferSize = 4096;

    /// <summary>Version 1, mergeable receive buffers, event indexes, indirect descriptors, protocol features, guest checksum and TSO.</summary>
    public const ulong DefaultFeatures =
        (1UL << VhostUserProtocol.VirtioVersion1) | (1UL << VhostUserProtocol.NetMergeableRxBuffers) | (1UL << VhostUserProtocol.RingEventIndex)
        | (1UL << VhostUserProtocol.RingIndirectDescriptors) | (1UL << VhostUserProtocol.VhostUserProtocolFeatures)
        | (1UL << VhostUserProtocol.NetCsum) | (1UL << VhostUserProtocol.NetGuestCsum) | (1UL << VhostUserProtocol.NetGuestTso4)
        | (1UL << VhostUserProtocol.NetHostTso4);

    private const int HeaderSize = 12;

    private readonly int _memFd;
    private readonly byte* _memory;
    private readonly int[] _kick;
    private readonly int[] _call;
    private readonly ushort[] _availIndex;
    private readonly ushort[] _lastUsed;
    private ushort _nextTxDescriptor;

    /// <summary>A frontend with <paramref name="queuePairs"/> queue pairs (receive 2k, transmit 2k + 1).</summary>
    public TestFrontend(int queuePairs = 1)
    {
        QueuePairs = queuePairs;
        _kick = new int[2 * queuePairs];
        _call = new int[2 * queuePairs];
        _availIndex = new ushort[2 * queuePairs];
        _lastUsed = new ushort[2 * queuePairs];
        var fds = stackalloc int[2];
        if (LibC.socketpair(LibC.AF_UNIX, LibC.SOCK_STREAM | LibC.SOCK_CLOEXEC, 0, fds) != 0)
        {
            throw new InteropException("socketpair", LibC.errno);
        }

        Socket = fds[0];
        SwitchEnd = fds[1];
        NonBlocking.Set(SwitchEnd);
        _memFd = MemfdCreate("ub-test-guest", 1);
        if (_memFd < 0 || LibC.ftruncate(_memFd, RegionSize) != 0)
        {
            throw new InteropException("memfd_create", LibC.errno);
        }

        _memory = (byte*)LibC.mmap(null, RegionSize, LibC.PROT_READ | LibC.PROT_WRITE, LibC.MAP_SHARED, _memFd, 0);
        for (var queue = 0; queue < 2 * queuePairs; queue++)
        {
            _kick[queue] = LibC.eventfd(0, LibC.EFD_NONBLOCK | LibC.EFD_CLOEXEC);
            _call[queue] = LibC.eventfd(0, LibC.EFD_NONBLOCK | LibC.EFD_CLOEXEC);
        }
    }

    public int QueuePairs { get; }

    /// <summary>The frontend's end of the socket pair.</summary>
    public int Socket { get; }

    /// <summary>The switch's end: hand it to a <see cref="VhostUserSession"/>, which then owns it.</summary>
    public int SwitchEnd { get; }

    public ulong Features { get; private set; } = DefaultFeatures;

    public static ulong RingOffset(int queue) => (ulong)queue * 0x10000;

    public static ulong DescriptorsOffset(int queue) => RingOffset(queue);

    public static ulong AvailOffset(int queue) => RingOffset(queue) + 0x1000;

    public static ulong UsedOffset(int queue) => RingOffset(queue) + 0x2000;

    public static ulong BufferOffset(int queue, int index) => 0x10_0000 + ((ulong)queue * 0x10_0000) + ((ulong)index * BufferSize);

    /// <summary>Free room for the test's own tables (indirect descriptors), 1 MiB from 7 MiB.</summary>
    public static ulong ScratchOffset => 0x70_0000;

    public byte* At(ulong offset) => _memory + offset;

    public static ulong Guest(ulong offset) => GuestBase + offset;

    /// <summary>Sends one message with its fds; with <paramref name="needReply"/> the need-reply flag.</summary>
    public void Send(VhostUserRequest request, ReadOnlySpan<byte> payload, ReadOnlySpan<int> fds = default, bool needReply = false)
    {
        var message = new byte[VhostUserProtocol.HeaderSize + payload.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(message, (uint)request);
        BinaryPrimitives.WriteUInt32LittleEndian(message.AsSpan(4), VhostUserProtocol.Version | (needReply ? VhostUserProtocol.FlagNeedReply : 0));
        BinaryPrimitives.WriteUInt32LittleEndian(message.AsSpan(8), (uint)payload.Length);
        payload.CopyTo(message.AsSpan(VhostUserProtocol.HeaderSize));
        SendRaw(message, fds);
    }

    /// <summary>Writes bytes as they are (a header alone, a cut message), with fds on the first byte.</summary>
    public void SendRaw(ReadOnlySpan<byte> bytes, ReadOnlySpan<int> fds = default)
    {
        var control = stackalloc byte[16 + (4 * 8)];
        fixed (byte* data = bytes)
        {
            var iov = new IoVec { Base = data, Length = (nuint)bytes.Length };
            var header = new MsgHdr { Iov = &iov, IovLength = 1 };
            if (fds.Length > 0)
            {
                *(ulong*)control = (ulong)(16 + (4 * fds.Length));
                *(int*)(control + 8) = 1;
                *(int*)(control + 12) = 1;
                for (var i = 0; i < fds.Length; i++)
                {
                    *(int*)(control + 16 + (4 * i)) = fds[i];
                }

                header.Control = control;
                header.ControlLength = (nuint)((16 + (4 * fds.Length) + 7) & ~7);
            }

            if (LibC.sendmsg(Socket, (msghdr*)&header, 0) != bytes.Length)
            {
                throw new InteropException("sendmsg to the switch", LibC.errno);
            }
        }
    }

    /// <summary>Reads one reply (waiting up to 10 s): its request and payload.</summary>
    public (VhostUserRequest Request, uint Flags, byte[] Payload) ReadReply()
    {
        var header = ReadExactly(VhostUserProtocol.HeaderSize);
        var size = BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(8));
        return ((VhostUserRequest)BinaryPrimitives.ReadUInt32LittleEndian(header), BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(4)), ReadExactly((int)size));
    }

    public ulong ReadU64Reply(VhostUserRequest request)
    {
        var reply = ReadReply();
        if (reply.Request != request || reply.Payload.Length != 8)
        {
            throw new InvalidOperationException($"expected a u64 reply to {request}, got {reply.Request} with {reply.Payload.Length} bytes");
        }

        return BinaryPrimitives.ReadUInt64LittleEndian(reply.Payload);
    }

    /// <summary>True when the switch closed its end (a read returns end of file within <paramref name="timeoutMs"/>).</summary>
    public bool SwitchClosed(int timeoutMs = 5000)
    {
        var poll = new pollfd { fd = Socket, events = LibC.POLLIN };
        if (LibC.poll(&poll, 1, timeoutMs) <= 0)
        {
            return false;
        }

        byte one;
        return LibC.recv(Socket, &one, 1, LibC.MSG_DONTWAIT) == 0;
    }

    public static byte[] U64(ulong value)
    {
        var bytes = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, value);
        return bytes;
    }

    public static byte[] VringState(int index, uint value)
    {
        var bytes = new byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, (uint)index);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4), value);
        return bytes;
    }

    /// <summary>A <c>SET_MEM_TABLE</c> payload for the one region (<paramref name="mmapOffset"/>: where it starts in the fd).</summary>
    public static byte[] MemoryTable(ulong guest = GuestBase, ulong size = RegionSize, ulong frontend = FrontendBase, ulong mmapOffset = 0)
    {
        var table = new byte[8 + 32];
        BinaryPrimitives.WriteUInt32LittleEndian(table, 1);
        BinaryPrimitives.WriteUInt64LittleEndian(table.AsSpan(8), guest);
        BinaryPrimitives.WriteUInt64LittleEndian(table.AsSpan(16), size);
        BinaryPrimitives.WriteUInt64LittleEndian(table.AsSpan(24), frontend);
        BinaryPrimitives.WriteUInt64LittleEndian(table.AsSpan(32), mmapOffset);
        return table;
    }

    public static byte[] VringAddress(int queue)
    {
        var bytes = new byte[40];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, (uint)queue);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(8), FrontendBase + DescriptorsOffset(queue));
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(16), FrontendBase + UsedOffset(queue));
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(24), FrontendBase + AvailOffset(queue));
        return bytes;
    }

    /// <summary>
    /// What QEMU does when the guest's driver starts: features, protocol features with reply-ack, the owner, the memory
    /// table, then each ring's size, base, addresses, call and kick eventfds, and enable.
    /// </summary>
    public void Start(ulong features = DefaultFeatures)
    {
        Features = features;
        Send(VhostUserRequest.GetFeatures, []);
        ReadU64Reply(VhostUserRequest.GetFeatures);
        Send(VhostUserRequest.SetFeatures, U64(features));
        Send(VhostUserRequest.GetProtocolFeatures, []);
        var protocol = ReadU64Reply(VhostUserRequest.GetProtocolFeatures);
        Send(VhostUserRequest.SetProtocolFeatures, U64(protocol));
        Send(VhostUserRequest.SetOwner, []);
        SendAcked(VhostUserRequest.SetMemTable, MemoryTable(), [_memFd]);
        for (var queue = 0; queue < 2 * QueuePairs; queue++)
        {
            Send(VhostUserRequest.SetVringNum, VringState(queue, QueueSize));
            Send(VhostUserRequest.SetVringBase, VringState(queue, 0));
            Send(VhostUserRequest.SetVringAddr, VringAddress(queue));
            Send(VhostUserRequest.SetVringCall, U64((ulong)queue), [_call[queue]]);
            Send(VhostUserRequest.SetVringKick, U64((ulong)queue), [_kick[queue]]);
            SendAcked(VhostUserRequest.SetVringEnable, VringState(queue, 1));
        }
    }

    /// <summary>Forgets the driver's rings, as a guest whose device was reset starts from zero (the memory cleared).</summary>
    public void Restart()
    {
        new Span<byte>(_memory, 0x10_0000).Clear();
        Array.Clear(_availIndex);
        Array.Clear(_lastUsed);
        _nextTxDescriptor = 0;
    }

    /// <summary>Sends with need-reply and checks the reply-ack says success.</summary>
    public void SendAcked(VhostUserRequest request, ReadOnlySpan<byte> payload, ReadOnlySpan<int> fds = default)
    {
        Send(request, payload, fds, needReply: true);
        var status = ReadU64Reply(request);
        if (status != 0)
        {
            throw new InvalidOperationException($"{request} was refused ({status})");
        }
    }

    public int MemFd => _memFd;

    public int KickFd(int queue) => _kick[queue];

    public int CallFd(int queue) => _call[queue];

    public void Dispose()
    {
        FileDescriptor.CloseQuietly(Socket);
        foreach (var fd in _kick.Concat(_call))
        {
            FileDescriptor.CloseQuietly(fd);
        }

        _ = LibC.munmap(_memory, RegionSize);
        FileDescriptor.CloseQuietly(_memFd);
    }

    private byte[] ReadExactly(int count)
    {
        var bytes = new byte[count];
        var got = 0;
        while (got < count)
        {
            var poll = new pollfd { fd = Socket, events = LibC.POLLIN };
            if (LibC.poll(&poll, 1, 10_000) <= 0)
            {
                throw new TimeoutException($"no reply from the switch within 10 s ({got} of {count} bytes)");
            }

            long n;
            fixed (byte* p = bytes)
            {
                n = LibC.recv(Socket, p + got, count - got, 0);
            }

            if (n <= 0)
            {
                throw new InvalidOperationException($"the switch closed the connection ({got} of {count} bytes of a reply)");
            }

            got += (int)n;
        }

        return bytes;
    }

    [DllImport("libc", EntryPoint = "memfd_create", SetLastError = true)]
    private static extern int MemfdCreate(string name, uint flags);
}
