using System.Text.Json;
using Tmds.Linux;
using UserBridge.Core.Buffers;
using UserBridge.Core.Forwarding;
using UserBridge.Core.Offload;
using UserBridge.Core.Ports;
using UserBridge.Linux.Interop;

namespace UserBridge.Linux.Ports.VhostUser;

/// <summary>
/// A VM's virtio-net device served over vhost-user: the switch reads the frames the guest transmits straight from its
/// transmit queues (one copy, into the switch's frame buffers) and writes the frames for it straight into its receive
/// queues (one copy, out of them), with the virtio-net header, so offloaded frames pass whole both ways. No system call
/// per frame: the guest's kick eventfds join the poller's epoll (through an epoll of the port's own), and the switch
/// writes a call eventfd only when the guest asked to be told (event indexes).
/// </summary>
/// <remarks>
/// <para>
/// The port exists while the frontend's rings run: <see cref="VhostUserSession"/> builds it when the first queue pair
/// has started and removes it from the bridge before it changes anything the port reads (a ring stopped, a new memory
/// table, a reset), so the port never sees a queue change under it. The queues, the guest's memory and the eventfds
/// belong to the session; the port owns only its epoll and its eventfd.
/// </para>
/// <para>
/// Any worker may send: each receive queue has a lock of its own, taken for the few hundred nanoseconds a frame's copy
/// takes (as DPDK's vhost library does); a worker's frames go to the queue its index picks, so with as many queues as
/// pollers the workers do not meet. A guest that breaks a ring's rules stops the port with
/// <see cref="PortFailure.BadDescriptor"/>; the others forward on.
/// </para>
/// </remarks>
public sealed unsafe class VhostUserPort : IPollablePort, IOffloadPort, ICountingPort, IDescribedPort
{
    private readonly VhostUserQueues _queues;
    private readonly int _epollFd;
    private readonly int _againFd;
    private readonly FdWaiter _waiter;
    private readonly int[] _rxLocks;
    private PortCounters? _counters;
    private volatile string? _fault;
    private int _nextPair;
    private int _disposed;

    public VhostUserPort(string name, string path, VhostUserQueues queues)
    {
        ArgumentNullException.ThrowIfNull(queues);
        Name = name;
        Interface = path;
        _queues = queues;
        _rxLocks = new int[queues.Pairs];
        _epollFd = LibC.epoll_create1(LibC.EPOLL_CLOEXEC);
        _againFd = LibC.eventfd(0, LibC.EFD_NONBLOCK | LibC.EFD_CLOEXEC);
        _waiter = new FdWaiter(path);
        if (_epollFd < 0 || _againFd < 0)
        {
            var errno = LibC.errno;
            CloseFds();
            throw new InteropException($"epoll or eventfd for vhost-user port {name}", errno);
        }

        try
        {
            Watch(_againFd);
            for (var pair = 0; pair < queues.Pairs; pair++)
            {
                Watch(queues.Tx[pair].KickFd);
            }
        }
        catch
        {
            CloseFds();
            throw;
        }
    }

    public string Name { get; }

    public string Type => VhostUserPortType.TypeName;

    public string Interface { get; }

    public int PollFd => _epollFd;

    /// <summary>True when the guest takes frames with an unfinished checksum (<c>VIRTIO_NET_F_GUEST_CSUM</c>).</summary>
    public bool AcceptsOffloads => VhostUserProtocol.Has(_queues.Features, VhostUserProtocol.NetGuestCsum);

    /// <summary>The queues, features and state the port serves (for <c>port show</c>).</summary>
    public VhostUserQueues Queues => _queues;

    public void Attach(PortCounters counters) => _counters = counters;

    /// <summary><c>port show</c>: the features the guest acknowledged, by name, and each queue's size and position.</summary>
    public void Describe(Utf8JsonWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteString("features", $"0x{_queues.Features:x}");
        writer.WriteStartArray("negotiated");
        foreach (var name in VhostUserProtocol.FeatureNames(_queues.Features))
        {
            writer.WriteStringValue(name);
        }

        writer.WriteEndArray();
        writer.WriteNumber("header_size", _queues.HeaderSize);
        writer.WriteStartArray("queues");
        foreach (var ring in _queues.Rx.Concat(_queues.Tx).OrderBy(ring => ring.Index))
        {
            writer.WriteStartObject();
            writer.WriteNumber("index", ring.Index);
            writer.WriteString("direction", ring.Index % 2 == 0 ? "rx" : "tx");
            writer.WriteNumber("size", ring.Queue.Size);
            writer.WriteNumber("next_avail", ring.Queue.NextAvail);
            writer.WriteString("state", ring.Queue.Broken ? "broken" : "running");
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
    }

    /// <summary>Whether the guest negotiated what <paramref name="offload"/> needs; else the engine segments it first.</summary>
    public bool Accepts(in VirtioNetHeader offload)
    {
        var features = _queues.Features;
        if (offload.NeedsChecksum && !VhostUserProtocol.Has(features, VhostUserProtocol.NetGuestCsum))
        {
            return false;
        }

        var ecnOk = (offload.GsoType & VirtioNetHeader.GsoEcn) == 0 || VhostUserProtocol.Has(features, VhostUserProtocol.NetGuestEcn);
        return offload.GsoKind switch
        {
            VirtioNetHeader.GsoNone => true,
            VirtioNetHeader.GsoTcpV4 => ecnOk && VhostUserProtocol.Has(features, VhostUserProtocol.NetGuestTso4),
            VirtioNetHeader.GsoTcpV6 => ecnOk && VhostUserProtocol.Has(features, VhostUserProtocol.NetGuestTso6),
            _ => false,
        };
    }

    public int Receive(PacketBuffer[] batch)
    {
        while (true)
        {
            var count = TryReceive(batch, 0);
            if (count > 0)
            {
                return count;
            }

            if (_waiter.Wait(_epollFd, LibC.POLLIN) == FdWaiter.Woken)
            {
                return 0;
            }
        }
    }

    public void Wake() => _waiter.Wake();

    public int TryReceive(PacketBuffer[] batch, int pollEvents)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ThrowIfFaulted();
        Drain(_againFd);
        var pairs = _queues.Pairs;
        var count = 0;
        var again = false;
        for (var i = 0; i < pairs; i++)
        {
            var pair = (_nextPair + i) % pairs;
            var tx = _queues.Tx[pair];
            Drain(tx.KickFd);
            count = TakeFrom(tx.Queue, batch, count);
            tx.Queue.PublishUsed();
            if (tx.Queue.NeedsNotification())
            {
                Signal(tx.CallFd);
            }

            again |= tx.Queue.Broken ? Fail(tx.Queue) : count == batch.Length ? tx.Queue.Pending > 0 : !tx.Queue.EnableNotifications();
        }

        _nextPair = (_nextPair + 1) % pairs;
        if (again)
        {
            Signal(_againFd);
        }

        ThrowIfFaulted();
        return count;
    }

    public bool Send(ReadOnlySpan<byte> frame) => Send(frame, VirtioNetHeader.None);

    public bool Send(ReadOnlySpan<byte> frame, in VirtioNetHeader offload)
    {
        var pair = _queues.Pairs == 1 ? 0 : (int)((uint)WorkerThread.Index % (uint)_queues.Pairs);
        var rx = _queues.Rx[pair];
        Span<byte> header = stackalloc byte[VirtioNetHeader.Size];
        offload.Write(header);
        ref var held = ref _rxLocks[pair];
        var spin = default(SpinWait);
        while (Interlocked.CompareExchange(ref held, 1, 0) != 0)
        {
            spin.SpinOnce(sleep1Threshold: -1);
        }

        bool sent;
        try
        {
            sent = rx.Queue.Put(header, frame, _queues.Mergeable);
            if (sent)
            {
                rx.Queue.PublishUsed();
                if (rx.Queue.NeedsNotification())
                {
                    Signal(rx.CallFd);
                }
            }
        }
        finally
        {
            Volatile.Write(ref held, 0);
        }

        if (rx.Queue.Broken)
        {
            Fail(rx.Queue);
            Signal(_againFd);
        }

        return sent;
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            CloseFds();
        }
    }

    private int TakeFrom(SplitQueue queue, PacketBuffer[] batch, int count)
    {
        Span<byte> header = stackalloc byte[VhostUserProtocol.NetHeaderSize];
        header = header[.._queues.HeaderSize];
        while (count < batch.Length)
        {
            var buffer = batch[count];
            var length = queue.Take(header, buffer.Array);
            if (length >= 0)
            {
                buffer.Offload = VirtioNetHeader.Read(header);
                buffer.Length = length;
                count++;
            }
            else if (length is SplitQueue.TooLong or SplitQueue.TooShort)
            {
                _counters?.CountPortDrop(length == SplitQueue.TooLong ? DropReason.TooLong : DropReason.TooShort);
            }
            else
            {
                break;
            }
        }

        return count;
    }

    private bool Fail(SplitQueue queue)
    {
        _fault ??= $"vhost-user {Name} ({Interface}): the guest broke a virtqueue's rules ({queue.Fault}); the port stops";
        return false;
    }

    private void ThrowIfFaulted()
    {
        if (_fault is { } fault)
        {
            throw new PortException(fault, PortFailure.BadDescriptor);
        }
    }

    private void Watch(int fd)
    {
        var entry = default(epoll_event);
        entry.events = LibC.EPOLLIN;
        entry.data.fd = fd;
        if (LibC.epoll_ctl(_epollFd, LibC.EPOLL_CTL_ADD, fd, &entry) != 0)
        {
            throw new InteropException($"epoll_ctl for vhost-user port {Name} (fd {fd})", LibC.errno);
        }
    }

    private static void Drain(int fd)
    {
        ulong value;
        _ = LibC.read(fd, &value, sizeof(ulong));
    }

    private static void Signal(int fd)
    {
        if (fd >= 0)
        {
            ulong one = 1;
            _ = LibC.write(fd, &one, sizeof(ulong));
        }
    }

    private void CloseFds()
    {
        if (_epollFd >= 0)
        {
            FileDescriptor.CloseQuietly(_epollFd);
        }

        if (_againFd >= 0)
        {
            FileDescriptor.CloseQuietly(_againFd);
        }

        _waiter.Dispose();
    }
}
