using System.Buffers.Binary;
using Microsoft.Extensions.Logging;
using Tmds.Linux;
using UserBridge.Core.Buffers;
using UserBridge.Core.Ports;
using UserBridge.Linux.Interop;

namespace UserBridge.Linux.Ports.QemuStream;

/// <summary>
/// One QEMU <c>-netdev stream</c> connection on a unix socket: each frame is a 4-byte big-endian length and the
/// frame. Receive parses the stream into the worker's buffers; send copies into a bounded
/// <see cref="FrameRing{TMetadata}"/> drained by this port's own sender thread, so a VM that stops reading loses its
/// own frames (refused sends, counted as tx errors) and never stalls a worker.
/// </summary>
/// <remarks>
/// A length of 0 or over 65,535, or a stream that ends inside a frame, fails the port with a message that says
/// so; the endpoint that owns the port then removes it and every other port carries on.
/// </remarks>
public sealed unsafe partial class QemuStreamPort : IPort
{
    public const int MaxFrameLength = StreamFraming.MaxFrameLength;
    private const int LengthPrefix = StreamFraming.LengthPrefix;
    private const int MSG_NOSIGNAL = 0x4000;
    private const int ReceiveBufferSize = 4 * (MaxFrameLength + LengthPrefix);

    private readonly int _fd;
    private readonly byte[] _rx = PortBufferPool.Rent(ReceiveBufferSize);
    private readonly FdWaiter _rxWaiter;
    private readonly FdWaiter _txWaiter;
    private readonly FrameRing<NoMetadata> _queue;
    private readonly FrameRing<NoMetadata>.FrameHandler _sendOne;
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread _sender;
    private readonly ILogger _logger;
    private int _rxStart;
    private int _rxEnd;
    private volatile bool _sendFailed;
    private int _disposed;
    private int _readers;
    private int _rxReleased;

    /// <summary>Takes ownership of <paramref name="fd"/>, a connected non-blocking unix stream socket.</summary>
    public QemuStreamPort(string name, string path, int fd, ILogger logger, int queueCapacity = FrameRing<NoMetadata>.DefaultCapacity)
    {
        Name = name;
        Interface = path;
        _fd = fd;
        _logger = logger;
        _rxWaiter = new FdWaiter(path);
        _txWaiter = new FdWaiter(path);
        _queue = new FrameRing<NoMetadata>(queueCapacity);
        _sendOne = SendOne;
        _sender = new Thread(SendLoop) { IsBackground = true, Name = $"ub-tx-{name}" };
        _sender.Start();
    }

    public string Name { get; }

    public string Type => "qemu-stream";

    public string Interface { get; }

    public int Receive(PacketBuffer[] batch)
    {
        ArgumentNullException.ThrowIfNull(batch);

        // Announce the read before looking at _disposed, as Dispose sets _disposed before looking at _readers: one of the
        // two sees the other, so the receive buffer goes back to the pool only when no read can still use it.
        Interlocked.Increment(ref _readers);
        try
        {
            return Volatile.Read(ref _disposed) != 0 ? 0 : ReadFrames(batch);
        }
        finally
        {
            if (Interlocked.Decrement(ref _readers) == 0 && Volatile.Read(ref _disposed) != 0)
            {
                ReleaseReceiveBuffer();
            }
        }
    }

    public void Wake() => _rxWaiter.Wake();

    public bool Send(ReadOnlySpan<byte> frame) =>
        !_sendFailed && frame.Length <= MaxFrameLength && _queue.TryEnqueue(frame);

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _stop.Cancel();
        _txWaiter.Wake();
        _sender.Join();
        FileDescriptor.CloseQuietly(_fd);
        _rxWaiter.Dispose();
        _txWaiter.Dispose();
        _queue.Dispose();
        _stop.Dispose();
        if (Volatile.Read(ref _readers) == 0)
        {
            ReleaseReceiveBuffer();
        }
    }

    private int ReadFrames(PacketBuffer[] batch)
    {
        var count = 0;
        while (count < batch.Length)
        {
            switch (StreamFraming.Next(_rx.AsSpan(_rxStart, _rxEnd - _rxStart), out var length))
            {
                case StreamFrameStatus.BadLength:
                    throw new PortException($"qemu-stream {Name} ({Interface}): frame length {(uint)length} is not 1 to {MaxFrameLength}; closing this connection", PortFailure.BadFraming);
                case StreamFrameStatus.Frame:
                    var buffer = batch[count++];
                    _rx.AsSpan(_rxStart + LengthPrefix, length).CopyTo(buffer.Array);
                    buffer.Length = length;
                    _rxStart += LengthPrefix + length;
                    continue;
            }

            if (count > 0)
            {
                return count;
            }

            if (!Fill())
            {
                return 0;
            }
        }

        return count;
    }

    /// <summary>Gives the receive buffer back to the pool, once: the last reader or Dispose, whichever comes second.</summary>
    private void ReleaseReceiveBuffer()
    {
        if (Interlocked.Exchange(ref _rxReleased, 1) == 0)
        {
            PortBufferPool.Return(_rx);
        }
    }

    /// <summary>Reads more of the stream; returns false when woken. Throws when the connection ended.</summary>
    private bool Fill()
    {
        if (_rxStart > 0)
        {
            _rx.AsSpan(_rxStart, _rxEnd - _rxStart).CopyTo(_rx);
            _rxEnd -= _rxStart;
            _rxStart = 0;
        }

        while (true)
        {
            long received;
            fixed (byte* p = _rx)
            {
                received = LibC.recv(_fd, p + _rxEnd, _rx.Length - _rxEnd, 0);
            }

            if (received > 0)
            {
                _rxEnd += (int)received;
                return true;
            }

            if (received == 0)
            {
                throw _rxEnd > 0
                    ? new PortException($"qemu-stream {Name} ({Interface}): the stream ended inside a frame ({_rxEnd} bytes of it); closing this connection", PortFailure.CutFrame)
                    : new PortException($"qemu-stream {Name} ({Interface}): QEMU closed the connection", PortFailure.Closed);
            }

            var errno = LibC.errno;
            if (errno == Errno.EINTR)
            {
                continue;
            }

            if (errno != Errno.EAGAIN)
            {
                throw new InteropException($"recv {Interface} (port {Name})", errno).ToPortException();
            }

            if (_rxWaiter.Wait(_fd, LibC.POLLIN) == FdWaiter.Woken)
            {
                return false;
            }
        }
    }

    private void SendLoop()
    {
        while (_queue.TryDequeue(_sendOne, _stop.Token))
        {
        }
    }

    /// <summary>Writes one queued frame, prefix included, with one send per chunk the socket takes.</summary>
    private void SendOne(byte[] buffer, int frameLength, in NoMetadata metadata)
    {
        if (_sendFailed)
        {
            return;
        }

        var offset = FrameRing<NoMetadata>.HeaderRoom - LengthPrefix;
        BinaryPrimitives.WriteInt32BigEndian(buffer.AsSpan(offset), frameLength);
        var remaining = frameLength + LengthPrefix;
        while (remaining > 0)
        {
            long sent;
            fixed (byte* p = buffer)
            {
                sent = LibC.send(_fd, p + offset, remaining, MSG_NOSIGNAL);
            }

            if (sent > 0)
            {
                offset += (int)sent;
                remaining -= (int)sent;
                continue;
            }

            var errno = LibC.errno;
            if (errno == Errno.EINTR)
            {
                continue;
            }

            if (errno != Errno.EAGAIN)
            {
                _sendFailed = true;
                LogSendFailed(_logger, Name, Interface, Errno.Describe(errno));
                return;
            }

            // The peer is not reading: wait for room. Meanwhile the queue fills and further frames for this
            // port are refused, which is the point: only this VM loses frames.
            if (_txWaiter.Wait(_fd, LibC.POLLOUT) == FdWaiter.Woken)
            {
                return;
            }
        }
    }

    [LoggerMessage(EventId = 200, Level = LogLevel.Warning, Message = "qemu-stream {Port} ({Path}): send failed: {Reason}; dropping its frames until the connection closes")]
    private static partial void LogSendFailed(ILogger logger, string port, string path, string reason);
}
