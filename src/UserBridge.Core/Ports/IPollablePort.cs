using UserBridge.Core.Buffers;
using UserBridge.Core.Switching;

namespace UserBridge.Core.Ports;

/// <summary>
/// A port that a poller thread can serve among others (<see cref="BridgeOptions.Pollers"/>): it exposes the fd that
/// becomes readable when frames wait, and reads them without waiting.
/// </summary>
public interface IPollablePort : IPort
{
    /// <summary>The fd to watch for input, errors and hang-ups.</summary>
    int PollFd { get; }

    /// <summary>
    /// As <see cref="IPort.Receive"/>, without waiting: returns 0 when no frame is waiting. <paramref name="pollEvents"/>
    /// are the events reported for <see cref="PollFd"/>: when they include an error or hang-up and nothing could be
    /// read, the port throws <see cref="PortException"/> as a failed <see cref="IPort.Receive"/> would.
    /// </summary>
    int TryReceive(PacketBuffer[] batch, int pollEvents);
}

/// <summary>One ready fd: the token it was added with and the events reported for it.</summary>
public readonly record struct PollEvent(int Token, int Events);

/// <summary>A set of fds a poller thread waits on (epoll on Linux), with a way to wake the waiter.</summary>
public interface IPollSet : IDisposable
{
    /// <summary>Watches <paramref name="fd"/> for input, reporting it with <paramref name="token"/>. Safe while another thread waits.</summary>
    void Add(int fd, int token);

    /// <summary>Stops watching <paramref name="fd"/>. Safe while another thread waits.</summary>
    void Remove(int fd);

    /// <summary>
    /// Waits until at least one fd is ready and fills <paramref name="ready"/>; returns how many, or 0 when woken
    /// by <see cref="Wake"/> or interrupted.
    /// </summary>
    int Wait(Span<PollEvent> ready);

    /// <summary>Makes a blocked or the next <see cref="Wait"/> return promptly. Safe from any thread.</summary>
    void Wake();
}
