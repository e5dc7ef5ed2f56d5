using Tmds.Linux;
using UserBridge.Core;
using static UserBridge.Linux.TunInterop;

namespace UserBridge.Linux;

/// <summary>
/// A TAP device the switch owns through <c>/dev/net/tun</c> (<c>IFF_TAP | IFF_NO_PI</c>): created when absent,
/// attached when a persistent TAP of that name exists, brought up.
/// </summary>
/// <remarks>
/// The fd is non-blocking. <see cref="Receive"/> reads until EAGAIN, and only when nothing was read waits in
/// <c>poll</c> on the TAP and an eventfd. <see cref="Wake"/> writes the eventfd: that is the only reliable
/// way to stop a reader of a quiet TAP (closing the fd from another thread does not wake a blocked read, and
/// the fd number could be reused at once). A TAP the switch created is not persistent, so the kernel removes
/// it when the fd closes, on exit or crash alike; a TAP that was persistent before stays.
/// </remarks>
public sealed unsafe class TapPort : IPort, IFrameSource
{
    private readonly int _tapFd;
    private readonly FdWaiter _waiter;
    private int _disposed;

    private TapPort(string name, string interfaceName, int tapFd, FdWaiter waiter, bool created, bool persistent)
    {
        Name = name;
        Interface = interfaceName;
        _tapFd = tapFd;
        _waiter = waiter;
        Created = created;
        Persistent = persistent;
    }

    public string Name { get; }

    public string Type => "tap";

    public string Interface { get; }

    /// <summary>True when the switch created the TAP (it then disappears when the port closes).</summary>
    public bool Created { get; }

    /// <summary>True when the TAP was persistent before the switch attached it (it then stays after close).</summary>
    public bool Persistent { get; }

    /// <summary>Opens (creating if needed) the TAP <paramref name="interfaceName"/> in the caller's network namespace and brings it up.</summary>
    public static TapPort Open(string interfaceName, string? portName = null)
    {
        ValidateName(interfaceName);
        var existed = NetDevice.Exists(interfaceName);
        var tapFd = OpenTunDevice(interfaceName);
        FdWaiter? waiter = null;
        try
        {
            var request = IfReq.For(interfaceName);
            request.Flags = IFF_TAP | IFF_NO_PI;
            Ioctl(tapFd, TUNSETIFF, ref request, "TUNSETIFF", interfaceName, existed
                ? "the interface exists: it must be a persistent TAP that no other process holds"
                : "run as root or grant CAP_NET_ADMIN");
            Ioctl(tapFd, TUNGETIFF, ref request, "TUNGETIFF", interfaceName);
            var persistent = (request.Flags & IFF_PERSIST) != 0;
            BringUp(interfaceName);
            waiter = new FdWaiter(interfaceName);
            return new TapPort(portName ?? interfaceName, interfaceName, tapFd, waiter, !existed, persistent);
        }
        catch
        {
            CloseQuietly(tapFd);
            waiter?.Dispose();
            throw;
        }
    }

    public int Receive(PacketBuffer[] batch) => BatchReceiver.Receive(this, batch, _waiter, _tapFd);

    int IFrameSource.ReadOne(PacketBuffer buffer)
    {
        long length;
        fixed (byte* p = buffer.Array)
        {
            length = LibC.read(_tapFd, p, buffer.Array.Length);
        }

        if (length > 0)
        {
            buffer.Length = (int)length;
            return BatchReceiver.Read;
        }

        return length == 0 ? BatchReceiver.Empty : BatchReceiver.Failed(LibC.errno, $"read {Interface}");
    }

    void IFrameSource.OnPollError(int revents) =>
        throw new PortException($"poll {Interface}: the TAP reported an error or hang-up (revents 0x{revents:x})");

    public void Wake() => _waiter.Wake();

    public bool Send(ReadOnlySpan<byte> frame)
    {
        fixed (byte* p = frame)
        {
            // A TAP write does not block: the frame goes straight into the kernel's receive path. It fails
            // with EIO while the link is down, which the caller counts as a send error.
            return LibC.write(_tapFd, p, frame.Length) == frame.Length;
        }
    }

    /// <summary>Closes the TAP. Call only after the worker has stopped (the bridge does).</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        CloseQuietly(_tapFd);
        _waiter.Dispose();
    }
}
