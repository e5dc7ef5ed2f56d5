using Tmds.Linux;
using UserBridge.Core.Ports;

namespace UserBridge.Linux.Interop;

/// <summary>
/// An epoll set with an eventfd for wake-ups: what a poller thread waits on. Level-triggered, so a port whose batch
/// left frames behind is reported again at the next wait, after the other ready ports had their turn.
/// </summary>
public sealed unsafe class EpollSet : IPollSet
{
    private const int WakeToken = -1;
    private const int MaxEvents = 64;

    private readonly int _epollFd;
    private readonly int _eventFd = -1;
    private int _disposed;

    public EpollSet()
    {
        _epollFd = LibC.epoll_create1(LibC.EPOLL_CLOEXEC);
        if (_epollFd < 0)
        {
            throw new InteropException("epoll_create1", LibC.errno);
        }

        try
        {
            _eventFd = LibC.eventfd(0, LibC.EFD_NONBLOCK | LibC.EFD_CLOEXEC);
            if (_eventFd < 0)
            {
                throw new InteropException("eventfd for a poller", LibC.errno);
            }

            Control(LibC.EPOLL_CTL_ADD, _eventFd, WakeToken);
        }
        catch
        {
            FileDescriptor.CloseQuietly(_eventFd);
            FileDescriptor.CloseQuietly(_epollFd);
            throw;
        }
    }

    public void Add(int fd, int token) => Control(LibC.EPOLL_CTL_ADD, fd, token);

    public void Remove(int fd)
    {
        // ENOENT or EBADF: the fd is no longer there to watch, which is what was asked.
        epoll_event unused = default;
        _ = LibC.epoll_ctl(_epollFd, LibC.EPOLL_CTL_DEL, fd, &unused);
    }

    public int Wait(Span<PollEvent> ready)
    {
        var capacity = Math.Min(ready.Length, MaxEvents);
        var events = stackalloc epoll_event[MaxEvents];
        var count = LibC.epoll_wait(_epollFd, events, capacity, -1);
        var filled = 0;
        for (var i = 0; i < count; i++)
        {
            var token = unchecked((int)events[i].data.u32);
            if (token == WakeToken)
            {
                ulong value;
                _ = LibC.read(_eventFd, &value, sizeof(ulong));
                continue;
            }

            ready[filled++] = new PollEvent(token, (int)events[i].events);
        }

        return filled;
    }

    public void Wake()
    {
        if (Volatile.Read(ref _disposed) == 0)
        {
            ulong one = 1;
            _ = LibC.write(_eventFd, &one, sizeof(ulong));
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            FileDescriptor.CloseQuietly(_eventFd);
            FileDescriptor.CloseQuietly(_epollFd);
        }
    }

    private void Control(int operation, int fd, int token)
    {
        var entry = default(epoll_event);
        entry.events = LibC.EPOLLIN;
        entry.data.u32 = unchecked((uint)token);
        if (LibC.epoll_ctl(_epollFd, operation, fd, &entry) != 0)
        {
            throw new InteropException($"epoll_ctl fd {fd}", LibC.errno);
        }
    }
}
