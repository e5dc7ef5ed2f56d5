using Tmds.Linux;
using UserBridge.Core.Buffers;
using UserBridge.Linux.Interop;

namespace UserBridge.Linux.Ports;

/// <summary>
/// The receive loop every fd-backed port shares: read frames until the batch is full or the fd says EAGAIN;
/// only when nothing was read, wait in poll for the fd or a wake-up. One system call per frame, none extra.
/// </summary>
internal static class BatchReceiver
{
    public const int Read = 1;
    public const int Skipped = 0;
    public const int Empty = -1;

    /// <summary>Fills <paramref name="batch"/>; returns the number of frames, or 0 when woken.</summary>
    public static int Receive<TSource>(TSource source, PacketBuffer[] batch, FdWaiter waiter, int fd)
        where TSource : IFrameSource
    {
        ArgumentNullException.ThrowIfNull(batch);
        while (true)
        {
            var count = ReadWaiting(source, batch);
            if (count > 0)
            {
                return count;
            }

            var events = waiter.Wait(fd, LibC.POLLIN);
            if (events == FdWaiter.Woken)
            {
                return 0;
            }

            if ((events & FdWaiter.ErrorEvents) != 0)
            {
                source.OnPollError(events);
            }
        }
    }

    /// <summary>
    /// Fills <paramref name="batch"/> with what is waiting, without waiting; returns the number of frames. When nothing
    /// was read and <paramref name="pollEvents"/> (what the poller saw on the fd) include an error or hang-up, the
    /// source reports it as <see cref="Receive"/> would.
    /// </summary>
    public static int TryReceive<TSource>(TSource source, PacketBuffer[] batch, int pollEvents)
        where TSource : IFrameSource
    {
        ArgumentNullException.ThrowIfNull(batch);
        var count = ReadWaiting(source, batch);
        if (count == 0 && (pollEvents & FdWaiter.ErrorEvents) != 0)
        {
            source.OnPollError(pollEvents);
        }

        return count;
    }

    /// <summary>
    /// Maps a failed read's errno: EAGAIN is <see cref="Empty"/>, EINTR <see cref="Skipped"/>, the rest throws, naming
    /// <paramref name="call"/>, <paramref name="endpoint"/> and the port. The message is built only then: EAGAIN ends
    /// every batch, and must cost nothing.
    /// </summary>
    public static int Failed(int errno, string call, string endpoint, string? port = null) => errno switch
    {
        Errno.EAGAIN => Empty,
        Errno.EINTR => Skipped,
        _ => throw new InteropException(port is null ? $"{call} {endpoint}" : $"{call} {endpoint} (port {port})", errno).ToPortException(),
    };

    /// <summary>
    /// <c>recvfrom</c> of one datagram into the whole of <paramref name="buffer"/>, the sender's address into
    /// <paramref name="source"/> (its length in <paramref name="addressLength"/>): the datagram's length, or -1 with errno set.
    /// </summary>
    public static unsafe long ReceiveFrom(int fd, PacketBuffer buffer, byte[] source, ref int addressLength)
    {
        var length = addressLength;
        long received;
        fixed (byte* p = buffer.Array)
        fixed (byte* from = source)
        {
            received = LibC.recvfrom(fd, p, buffer.Array.Length, 0, (sockaddr*)from, (socklen_t*)&length);
        }

        addressLength = length;
        return received;
    }

    private static int ReadWaiting<TSource>(TSource source, PacketBuffer[] batch)
        where TSource : IFrameSource
    {
        var count = 0;
        while (count < batch.Length)
        {
            var result = source.ReadOne(batch[count]);
            if (result == Empty)
            {
                break;
            }

            count += result;
        }

        return count;
    }
}
