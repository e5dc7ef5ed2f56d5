using UserBridge.Core.Buffers;
using UserBridge.Core.Ports;


namespace UserBridge.Linux.Ports;

/// <summary>A non-blocking fd that yields one frame per read: what <see cref="BatchReceiver"/> drives.</summary>
internal interface IFrameSource
{
    /// <summary>
    /// Reads one frame into <paramref name="buffer"/> without waiting: <see cref="BatchReceiver.Read"/>,
    /// <see cref="BatchReceiver.Skipped"/> (nothing usable, try again) or <see cref="BatchReceiver.Empty"/>
    /// (EAGAIN). Throws <see cref="PortException"/> when the fd failed.
    /// </summary>
    int ReadOne(PacketBuffer buffer);

    /// <summary>Called when poll reports POLLERR, POLLHUP or POLLNVAL on the fd; throws the port's error.</summary>
    void OnPollError(int revents);
}
