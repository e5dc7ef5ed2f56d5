using System.Buffers.Binary;
using Tmds.Linux;
using UserBridge.Linux.Interop;

namespace UserBridge.Linux.Ports.VhostUser;

/// <summary>
/// The vhost-user connection as messages: reads a header and its payload with the file descriptors that ride along
/// (<c>SCM_RIGHTS</c>), and writes replies. One thread uses it. Everything a frontend sends is bounded: a payload over
/// <see cref="VhostUserProtocol.MaxPayload"/>, more fds than a message may carry, a message cut off for longer than
/// <see cref="MidMessageTimeoutMs"/> or by a close end the connection (<see cref="VhostUserException"/>), and fds that
/// came with a refused message are closed.
/// </summary>
public sealed unsafe class VhostUserChannel : IDisposable
{
    /// <summary>How long the rest of a message may take once its first byte came.</summary>
    public const int MidMessageTimeoutMs = 5000;

    private const int SolSocket = 1;
    private const int ScmRights = 1;
    private const int MsgCmsgCloexec = 0x40000000;
    private const int MsgCtrunc = 0x8;
    private const int MsgNoSignal = 0x4000;
    private const int CmsgHeaderSize = 16;
    private const int ControlSize = CmsgHeaderSize + (sizeof(int) * VhostUserProtocol.MaxFds);

    private readonly int _fd;
    private readonly string _path;
    private readonly FdWaiter _waiter;
    private readonly byte[] _payload = GC.AllocateUninitializedArray<byte>(VhostUserProtocol.MaxPayload, pinned: true);
    private readonly int[] _fds = new int[VhostUserProtocol.MaxFds];
    private int _fdCount;

    /// <summary>Takes ownership of the connected socket <paramref name="fd"/> (non-blocking).</summary>
    public VhostUserChannel(int fd, string path)
    {
        _fd = fd;
        _path = path;
        _waiter = new FdWaiter(path);
    }

    /// <summary>The request read last.</summary>
    public VhostUserRequest Request { get; private set; }

    /// <summary>Its flags (version, reply, need-reply).</summary>
    public uint Flags { get; private set; }

    /// <summary>Its payload.</summary>
    public ReadOnlySpan<byte> Payload => _payload.AsSpan(0, PayloadSize);

    public int PayloadSize { get; private set; }

    /// <summary>The fds that came with it, still open, owned by the caller once taken (<see cref="TakeFds"/>).</summary>
    public ReadOnlySpan<int> Fds => _fds.AsSpan(0, _fdCount);

    public bool NeedsReply => (Flags & VhostUserProtocol.FlagNeedReply) != 0;

    /// <summary>
    /// Waits for the next message and reads it; false when the frontend closed the connection between messages or
    /// <see cref="Wake"/> was called. The fds of the previous message that were not taken are closed first.
    /// </summary>
    public bool Read()
    {
        CloseFds();
        // 0: interrupted; wait again.
        var events = 0;
        while (events == 0)
        {
            events = _waiter.Wait(_fd, LibC.POLLIN);
        }

        if (events == FdWaiter.Woken)
        {
            return false;
        }

        Span<byte> header = stackalloc byte[VhostUserProtocol.HeaderSize];
        var got = ReadSome(header, withFds: true);
        if (got == 0)
        {
            return false;
        }

        ReadAll(header[got..]);
        Request = (VhostUserRequest)BinaryPrimitives.ReadUInt32LittleEndian(header);
        Flags = BinaryPrimitives.ReadUInt32LittleEndian(header[4..]);
        var size = BinaryPrimitives.ReadUInt32LittleEndian(header[8..]);
        if (size > VhostUserProtocol.MaxPayload)
        {
            throw new VhostUserException($"{_path}: a {Request} message of {size} bytes (at most {VhostUserProtocol.MaxPayload})");
        }

        if ((Flags & VhostUserProtocol.VersionMask) != VhostUserProtocol.Version)
        {
            throw new VhostUserException($"{_path}: a message of protocol version {Flags & VhostUserProtocol.VersionMask} (this switch speaks {VhostUserProtocol.Version})");
        }

        PayloadSize = (int)size;
        ReadAll(_payload.AsSpan(0, PayloadSize));
        return true;
    }

    /// <summary>Hands the message's fds to the caller, who closes them.</summary>
    public int[] TakeFds()
    {
        var taken = _fds.AsSpan(0, _fdCount).ToArray();
        _fdCount = 0;
        return taken;
    }

    /// <summary>Replies to the message read last with <paramref name="payload"/>.</summary>
    public void Reply(ReadOnlySpan<byte> payload)
    {
        Span<byte> message = stackalloc byte[VhostUserProtocol.HeaderSize + payload.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(message, (uint)Request);
        BinaryPrimitives.WriteUInt32LittleEndian(message[4..], VhostUserProtocol.Version | VhostUserProtocol.FlagReply);
        BinaryPrimitives.WriteUInt32LittleEndian(message[8..], (uint)payload.Length);
        payload.CopyTo(message[VhostUserProtocol.HeaderSize..]);
        var sent = 0;
        while (sent < message.Length)
        {
            long count;
            fixed (byte* p = message)
            {
                count = LibC.send(_fd, p + sent, message.Length - sent, MsgNoSignal);
            }

            if (count > 0)
            {
                sent += (int)count;
                continue;
            }

            var errno = LibC.errno;
            if (count < 0 && errno == Errno.EAGAIN && WaitFor(LibC.POLLOUT))
            {
                continue;
            }

            throw new VhostUserException($"{_path}: the reply to {Request} could not be sent", new InteropException("send", errno));
        }
    }

    /// <summary>Replies with a u64.</summary>
    public void Reply(ulong value)
    {
        Span<byte> payload = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(payload, value);
        Reply(payload);
    }

    /// <summary>Makes a waiting <see cref="Read"/> return false.</summary>
    public void Wake() => _waiter.Wake();

    public void Dispose()
    {
        CloseFds();
        FileDescriptor.CloseQuietly(_fd);
        _waiter.Dispose();
    }

    private void CloseFds()
    {
        foreach (var fd in _fds.AsSpan(0, _fdCount))
        {
            FileDescriptor.CloseQuietly(fd);
        }

        _fdCount = 0;
    }

    private void ReadAll(Span<byte> destination)
    {
        while (destination.Length > 0)
        {
            if (!WaitFor(LibC.POLLIN))
            {
                throw new VhostUserException($"{_path}: a {Request} message stopped half-way for {MidMessageTimeoutMs} ms");
            }

            var got = ReadSome(destination, withFds: false);
            if (got == 0)
            {
                throw new VhostUserException($"{_path}: the frontend closed the connection inside a message");
            }

            destination = destination[got..];
        }
    }

    /// <summary>Reads what is there (at least a byte, waiting if none yet); 0 when the peer closed.</summary>
    private int ReadSome(Span<byte> destination, bool withFds)
    {
        var control = stackalloc byte[ControlSize];
        while (true)
        {
            long count;
            MsgHdr message = default;
            fixed (byte* p = destination)
            {
                var iov = new IoVec { Base = p, Length = (nuint)destination.Length };
                message.Iov = &iov;
                message.IovLength = 1;
                message.Control = control;
                message.ControlLength = ControlSize;
                count = LibC.recvmsg(_fd, (msghdr*)&message, MsgCmsgCloexec);
            }

            if (count >= 0)
            {
                TakeControl(control, (int)message.ControlLength, message.Flags, withFds);
                return (int)count;
            }

            var errno = LibC.errno;
            if (errno == Errno.ECONNRESET)
            {
                return 0;
            }

            if (errno != Errno.EAGAIN && errno != Errno.EINTR)
            {
                throw new VhostUserException($"{_path}: reading a message failed", new InteropException("recvmsg", errno));
            }

            if (!WaitFor(LibC.POLLIN))
            {
                throw new VhostUserException($"{_path}: a message stopped half-way for {MidMessageTimeoutMs} ms");
            }
        }
    }

    /// <summary>Keeps the fds of an <c>SCM_RIGHTS</c> block (closing them when they are not expected or were cut).</summary>
    private void TakeControl(byte* control, int length, int flags, bool expected)
    {
        var fds = new List<int>();
        for (var offset = 0; offset + CmsgHeaderSize <= length;)
        {
            var cmsgLength = (int)*(ulong*)(control + offset);
            var level = *(int*)(control + offset + 8);
            var type = *(int*)(control + offset + 12);
            if (cmsgLength < CmsgHeaderSize || offset + cmsgLength > length)
            {
                break;
            }

            if (level == SolSocket && type == ScmRights)
            {
                for (var at = CmsgHeaderSize; at + sizeof(int) <= cmsgLength; at += sizeof(int))
                {
                    fds.Add(*(int*)(control + offset + at));
                }
            }

            offset += (cmsgLength + 7) & ~7;
        }

        if (fds.Count == 0)
        {
            return;
        }

        if (!expected || (flags & MsgCtrunc) != 0 || fds.Count > VhostUserProtocol.MaxFds - _fdCount)
        {
            fds.ForEach(FileDescriptor.CloseQuietly);
            throw new VhostUserException($"{_path}: {fds.Count} file descriptors {(expected ? "over what a message may carry" : "inside a message")}");
        }

        foreach (var fd in fds)
        {
            _fds[_fdCount++] = fd;
        }
    }

    private bool WaitFor(short events)
    {
        var poll = new pollfd { fd = _fd, events = events };
        return LibC.poll(&poll, 1, MidMessageTimeoutMs) > 0;
    }
}
