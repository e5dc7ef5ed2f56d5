using Tmds.Linux;
using UserBridge.Core;
using UserBridge.Core.Offload;
using static UserBridge.Linux.TunInterop;

namespace UserBridge.Linux;

/// <summary>
/// A TAP device the switch owns through <c>/dev/net/tun</c> (<c>IFF_TAP | IFF_NO_PI</c>): created when absent,
/// attached when a persistent TAP of that name exists, brought up.
/// </summary>
/// <remarks>
/// <para>
/// With offloads (the default) the TAP is opened with <c>IFF_VNET_HDR</c>, a 12-byte virtio-net header
/// (<c>TUNSETVNETHDRSZ</c>) and <c>TUNSETOFFLOAD</c> of checksum, TSO4/6 (with ECN) and, where the kernel has it,
/// USO4/6: the host stack then hands the switch 64 KiB TCP frames with the checksum left undone, and takes the same
/// back, which is where the throughput is. A read puts the header and the frame into the buffer in one call (the
/// frame starts at <see cref="PacketBuffer.Offset"/> 12); a write sends a header from the stack and the frame with
/// one <c>writev</c>, without copying the frame.
/// </para>
/// <para>
/// The fd is non-blocking. <see cref="Receive"/> reads until EAGAIN, and only when nothing was read waits in
/// <c>poll</c> on the TAP and an eventfd. <see cref="Wake"/> writes the eventfd: that is the only reliable
/// way to stop a reader of a quiet TAP (closing the fd from another thread does not wake a blocked read, and
/// the fd number could be reused at once). A TAP the switch created is not persistent, so the kernel removes
/// it when the fd closes, on exit or crash alike; a TAP that was persistent before stays.
/// </para>
/// </remarks>
public sealed unsafe class TapPort : IPort, IOffloadPort, IFrameSource
{
    /// <summary><c>virtio_net_hdr_mrg_rxbuf</c>: the 10-byte header and <c>num_buffers</c>, which tun ignores.</summary>
    public const int VnetHeaderSize = 12;

    private const uint BaseOffloads = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN;

    private readonly int _tapFd;
    private readonly FdWaiter _waiter;
    private int _disposed;

    private TapPort(string name, string interfaceName, int tapFd, FdWaiter waiter, bool created, bool persistent, bool offloads)
    {
        Name = name;
        Interface = interfaceName;
        _tapFd = tapFd;
        _waiter = waiter;
        Created = created;
        Persistent = persistent;
        AcceptsOffloads = offloads;
    }

    public string Name { get; }

    public string Type => "tap";

    public string Interface { get; }

    /// <summary>True when the switch created the TAP (it then disappears when the port closes).</summary>
    public bool Created { get; }

    /// <summary>True when the TAP was persistent before the switch attached it (it then stays after close).</summary>
    public bool Persistent { get; }

    /// <summary>True when the TAP carries virtio-net headers: GSO frames and unfinished checksums pass whole.</summary>
    public bool AcceptsOffloads { get; }

    /// <summary>
    /// Opens (creating if needed) the TAP <paramref name="interfaceName"/> in the caller's network namespace and brings
    /// it up; with <paramref name="offloads"/>, with virtio-net headers and TSO/USO.
    /// </summary>
    public static TapPort Open(string interfaceName, string? portName = null, bool offloads = true)
    {
        ValidateName(interfaceName);
        var existed = NetDevice.Exists(interfaceName);
        var tapFd = OpenTunDevice(interfaceName);
        FdWaiter? waiter = null;
        try
        {
            var request = IfReq.For(interfaceName);
            request.Flags = (short)(IFF_TAP | IFF_NO_PI | (offloads ? IFF_VNET_HDR : 0));
            Ioctl(tapFd, TUNSETIFF, ref request, "TUNSETIFF", interfaceName, existed
                ? "the interface exists: it must be a persistent TAP that no other process holds"
                : "run as root or grant CAP_NET_ADMIN");
            Ioctl(tapFd, TUNGETIFF, ref request, "TUNGETIFF", interfaceName);
            var persistent = (request.Flags & IFF_PERSIST) != 0;
            if (offloads)
            {
                EnableOffloads(tapFd, interfaceName);
            }

            BringUp(interfaceName);
            waiter = new FdWaiter(interfaceName);
            return new TapPort(portName ?? interfaceName, interfaceName, tapFd, waiter, !existed, persistent, offloads);
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

        if (length > 0 && AcceptsOffloads)
        {
            if (length < VnetHeaderSize)
            {
                return BatchReceiver.Skipped;
            }

            buffer.Offload = VirtioNetHeader.Read(buffer.Array);
            buffer.Offset = VnetHeaderSize;
            buffer.Length = (int)length - VnetHeaderSize;
            return BatchReceiver.Read;
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

    public bool Send(ReadOnlySpan<byte> frame) => Send(frame, VirtioNetHeader.None);

    /// <summary>
    /// Sends a frame with its offload. A TAP write does not block: the frame goes straight into the kernel's receive
    /// path. It fails with EIO while the link is down, which the caller counts as a send error.
    /// </summary>
    public bool Send(ReadOnlySpan<byte> frame, in VirtioNetHeader offload)
    {
        fixed (byte* data = frame)
        {
            if (!AcceptsOffloads)
            {
                return LibC.write(_tapFd, data, frame.Length) == frame.Length;
            }

            var header = stackalloc byte[VnetHeaderSize];
            offload.Write(new Span<byte>(header, VirtioNetHeader.Size));
            header[10] = 0;
            header[11] = 0;
            var iov = stackalloc PacketInterop.IoVec[2];
            iov[0].Base = header;
            iov[0].Length = VnetHeaderSize;
            iov[1].Base = data;
            iov[1].Length = (nuint)frame.Length;
            return WriteV(_tapFd, iov, 2) == VnetHeaderSize + frame.Length;
        }
    }

    /// <summary>
    /// Sets the 12-byte header and what the switch accepts: checksum, TSO4/6 with ECN, and USO4/6 where the kernel
    /// knows them (6.2 and later; older kernels refuse the bits with EINVAL).
    /// </summary>
    private static void EnableOffloads(int tapFd, string interfaceName)
    {
        if (IoctlPointer(tapFd, TUNSETVNETHDRSZ, VnetHeaderSize) is var headerError and not 0)
        {
            throw new InteropException($"TUNSETVNETHDRSZ {interfaceName}", headerError);
        }

        if (IoctlValue(tapFd, TUNSETOFFLOAD, (int)(BaseOffloads | TUN_F_USO4 | TUN_F_USO6)) != 0
            && IoctlValue(tapFd, TUNSETOFFLOAD, (int)BaseOffloads) is var offloadError and not 0)
        {
            throw new InteropException($"TUNSETOFFLOAD {interfaceName}", offloadError);
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
