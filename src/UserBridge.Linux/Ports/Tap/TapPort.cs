using Tmds.Linux;
using UserBridge.Core.Offload;
using static UserBridge.Linux.Ports.Tap.TunInterop;
using UserBridge.Core.Buffers;
using UserBridge.Core.Ports;
using UserBridge.Linux.Interop;

namespace UserBridge.Linux.Ports.Tap;

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
/// With <c>queues</c> &gt; 1 the TAP is opened <c>IFF_MULTI_QUEUE</c>, one fd per queue: the kernel spreads the
/// host's flows over the queues and the bridge runs one worker per queue. A send goes to the queue of the sending
/// worker's number, so the frames of one worker keep their order.
/// </para>
/// <para>
/// The fds are non-blocking. <see cref="Receive(PacketBuffer[], int)"/> reads until EAGAIN, and only when nothing was read waits in
/// <c>poll</c> on the TAP and an eventfd. <see cref="Wake"/> writes the eventfd: that is the only reliable
/// way to stop a reader of a quiet TAP (closing the fd from another thread does not wake a blocked read, and
/// the fd number could be reused at once). A TAP the switch created is not persistent, so the kernel removes
/// it when the fd closes, on exit or crash alike; a TAP that was persistent before stays.
/// </para>
/// </remarks>
public sealed unsafe class TapPort : IMultiQueuePort, IPollablePort, IOffloadPort
{
    /// <summary><c>virtio_net_hdr_mrg_rxbuf</c>: the 10-byte header and <c>num_buffers</c>, which tun ignores.</summary>
    public const int VnetHeaderSize = 12;

    private const uint BaseOffloads = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN;

    private readonly int[] _fds;
    private readonly FdWaiter[] _waiters;
    private int _disposed;

    private TapPort(string name, string interfaceName, int[] fds, FdWaiter[] waiters, bool created, bool persistent, bool offloads)
    {
        Name = name;
        Interface = interfaceName;
        _fds = fds;
        _waiters = waiters;
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

    public int QueueCount => _fds.Length;

    /// <summary>
    /// Opens (creating if needed) the TAP <paramref name="interfaceName"/> in the caller's network namespace and brings
    /// it up; with <paramref name="offloads"/>, with virtio-net headers and TSO/USO; with <paramref name="queues"/>
    /// &gt; 1, as a multi-queue TAP.
    /// </summary>
    public static TapPort Open(string interfaceName, string? portName = null, bool offloads = true, int queues = 1)
    {
        NetDevice.ValidateName(interfaceName);
        ArgumentOutOfRangeException.ThrowIfLessThan(queues, 1);
        var existed = NetDevice.Exists(interfaceName);
        var fds = new List<int>();
        var waiters = new List<FdWaiter>();
        try
        {
            var persistent = false;
            for (var queue = 0; queue < queues; queue++)
            {
                var fd = OpenTunDevice(interfaceName);
                fds.Add(fd);
                var request = IfReq.For(interfaceName);
                request.Flags = (short)(IFF_TAP | IFF_NO_PI | (offloads ? IFF_VNET_HDR : 0) | (queues > 1 ? IFF_MULTI_QUEUE : 0));
                NetDevice.Ioctl(fd, TUNSETIFF, ref request, "TUNSETIFF", interfaceName, existed || queue > 0
                    ? "the interface exists: it must be a persistent TAP that no other process holds, opened with the same queue setting"
                    : "run as root or grant CAP_NET_ADMIN");
                NetDevice.Ioctl(fd, TUNGETIFF, ref request, "TUNGETIFF", interfaceName);
                persistent = (request.Flags & IFF_PERSIST) != 0;
                if (offloads)
                {
                    EnableOffloads(fd, interfaceName);
                }

                waiters.Add(new FdWaiter(interfaceName));
            }

            NetDevice.BringUp(interfaceName);
            return new TapPort(portName ?? interfaceName, interfaceName, [.. fds], [.. waiters], !existed, persistent, offloads);
        }
        catch
        {
            fds.ForEach(FileDescriptor.CloseQuietly);
            waiters.ForEach(waiter => waiter.Dispose());
            throw;
        }
    }

    /// <summary>The first queue's fd: a poller serves only a TAP with one queue.</summary>
    public int PollFd => _fds[0];

    public int Receive(PacketBuffer[] batch) => Receive(batch, 0);

    public int TryReceive(PacketBuffer[] batch, int pollEvents) => BatchReceiver.TryReceive(new QueueReader(this, _fds[0]), batch, pollEvents);

    public int Receive(PacketBuffer[] batch, int queue) => BatchReceiver.Receive(new QueueReader(this, _fds[queue]), batch, _waiters[queue], _fds[queue]);

    /// <summary>Wakes the worker of every queue.</summary>
    public void Wake()
    {
        foreach (var waiter in _waiters)
        {
            waiter.Wake();
        }
    }

    public bool Send(ReadOnlySpan<byte> frame) => Send(frame, VirtioNetHeader.None);

    /// <summary>
    /// Sends a frame with its offload. A TAP write does not block: the frame goes straight into the kernel's receive
    /// path. It fails with EIO while the link is down, which the caller counts as a send error.
    /// </summary>
    public bool Send(ReadOnlySpan<byte> frame, in VirtioNetHeader offload)
    {
        var fd = _fds.Length == 1 ? _fds[0] : _fds[(uint)WorkerThread.Index % (uint)_fds.Length];
        fixed (byte* data = frame)
        {
            if (!AcceptsOffloads)
            {
                return LibC.write(fd, data, frame.Length) == frame.Length;
            }

            var header = stackalloc byte[VnetHeaderSize];
            offload.Write(new Span<byte>(header, VirtioNetHeader.Size));
            header[10] = 0;
            header[11] = 0;
            var iov = stackalloc IoVec[2];
            iov[0].Base = header;
            iov[0].Length = VnetHeaderSize;
            iov[1].Base = data;
            iov[1].Length = (nuint)frame.Length;
            return VectorIo.WriteV(fd, iov, 2) == VnetHeaderSize + frame.Length;
        }
    }

    /// <summary>Closes the TAP. Call only after the workers have stopped (the bridge does).</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        foreach (var fd in _fds)
        {
            FileDescriptor.CloseQuietly(fd);
        }

        foreach (var waiter in _waiters)
        {
            waiter.Dispose();
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

    /// <summary>One queue's fd as <see cref="BatchReceiver"/> reads it: a struct, so the loop is specialised and allocates nothing.</summary>
    private readonly struct QueueReader(TapPort port, int fd) : IFrameSource
    {
        public int ReadOne(PacketBuffer buffer)
        {
            long length;
            fixed (byte* p = buffer.Array)
            {
                length = LibC.read(fd, p, buffer.Array.Length);
            }

            if (length <= 0)
            {
                return length == 0 ? BatchReceiver.Empty : BatchReceiver.Failed(LibC.errno, "read", port.Interface);
            }

            if (!port.AcceptsOffloads)
            {
                buffer.Length = (int)length;
                return BatchReceiver.Read;
            }

            if (length < VnetHeaderSize)
            {
                return BatchReceiver.Skipped;
            }

            buffer.Offload = VirtioNetHeader.Read(buffer.Array);
            buffer.Offset = VnetHeaderSize;
            buffer.Length = (int)length - VnetHeaderSize;
            return BatchReceiver.Read;
        }

        public void OnPollError(int revents) =>
            throw new PortException($"poll {port.Interface}: the TAP reported an error or hang-up (revents 0x{revents:x})");
    }
}
