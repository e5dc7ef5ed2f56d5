using Tmds.Linux;

namespace UserBridge.Linux.Interop;

/// <summary>
/// Waits in <c>poll</c> for one fd or a wake-up through an eventfd. This is how a thread blocked on a quiet fd
/// is stopped: closing the fd from another thread would not wake it (and its number could be reused at once).
/// </summary>
internal sealed unsafe class FdWaiter : IDisposable
{
    public const int Woken = -1;

    /// <summary>POLLERR | POLLHUP | POLLNVAL.</summary>
    public const int ErrorEvents = 0x08 | 0x10 | 0x20;

    private readonly int _eventFd;
    private int _disposed;

    public FdWaiter(string interfaceName)
    {
        _eventFd = LibC.eventfd(0, LibC.EFD_NONBLOCK | LibC.EFD_CLOEXEC);
        if (_eventFd < 0)
        {
            throw new InteropException($"eventfd for {interfaceName}", LibC.errno);
        }
    }

    /// <summary>
    /// Waits until <paramref name="fd"/> reports one of <paramref name="events"/> (or an error or hang-up) and
    /// returns its revents, or returns <see cref="Woken"/> after <see cref="Wake"/>. Returns 0 when interrupted.
    /// </summary>
    public int Wait(int fd, short events)
    {
        var fds = stackalloc pollfd[2];
        fds[0].fd = fd;
        fds[0].events = events;
        fds[1].fd = _eventFd;
        fds[1].events = LibC.POLLIN;

        // poll's errno is not reliable through Tmds.LibC; a failure here can only be EINTR or ENOMEM, and both
        // are retried by the caller's loop.
        if (LibC.poll(fds, 2, -1) <= 0)
        {
            return 0;
        }

        if (fds[1].revents != 0)
        {
            ulong value;
            _ = LibC.read(_eventFd, &value, sizeof(ulong));
            return Woken;
        }

        return (ushort)fds[0].revents;
    }

    public void Wake()
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            return;
        }

        ulong one = 1;
        _ = LibC.write(_eventFd, &one, sizeof(ulong));
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            FileDescriptor.CloseQuietly(_eventFd);
        }
    }
}
