using System.Buffers.Binary;
using Microsoft.Extensions.Logging;
using UserBridge.Core.Ports;
using UserBridge.Core.Switching;

namespace UserBridge.Linux.Ports.VhostUser;

/// <summary>
/// One frontend's vhost-user connection, served on one thread: it answers the protocol (QEMU's
/// <c>docs/interop/vhost-user.rst</c>), keeps what the frontend set up, and puts a <see cref="VhostUserPort"/> in the
/// bridge while at least one queue pair runs.
/// </summary>
/// <remarks>
/// Before any message changes what the port reads (the memory table, a ring's addresses, size, eventfds or state, the
/// features, a reset), the port leaves the bridge, which waits for every worker to be out of it; the change is made;
/// then a new port is built if queue pairs are ready. So a worker never sees guest memory unmapped or a queue changed
/// under it, and no message handling waits on a worker or takes a worker's lock. A frontend that breaks the protocol
/// (a message it may not send, a ring outside its memory) loses its connection; one whose guest breaks a ring loses its
/// port (<see cref="PortFailure.BadDescriptor"/>) and then its connection.
/// </remarks>
public sealed partial class VhostUserSession : IDisposable
{
    private readonly Bridge _bridge;
    private readonly VhostUserChannel _channel;
    private readonly VringSetup[] _rings;
    private readonly ILogger _logger;
    private readonly PortOpening _opening;
    private GuestMemory? _memory;
    private volatile VhostUserPort? _port;
    private ulong _features;
    private ulong _protocolFeatures;
    private volatile bool _portFailed;
    private int _disposed;

    public VhostUserSession(PortOpening opening, string path, int fd, int maxQueuePairs)
    {
        ArgumentNullException.ThrowIfNull(opening);
        _opening = opening;
        _bridge = opening.Bridge;
        _logger = opening.Logger;
        Path = path;
        MaxQueuePairs = maxQueuePairs;
        _channel = new VhostUserChannel(fd, path);
        _rings = [.. Enumerable.Range(0, 2 * maxQueuePairs).Select(_ => new VringSetup())];
        _bridge.PortFailed += OnPortFailed;
    }

    public string Path { get; }

    public int MaxQueuePairs { get; }

    /// <summary>The MTU the frontend set (<c>NET_SET_MTU</c>), or 0.</summary>
    public int Mtu { get; private set; }

    /// <summary>
    /// Serves the connection until the frontend closes it, breaks the protocol, its guest breaks a ring, or
    /// <see cref="Stop"/>; returns why it ended.
    /// </summary>
    public string Run()
    {
        try
        {
            while (_channel.Read())
            {
                Handle();
            }

            return _portFailed ? "its guest broke a virtqueue's rules" : "the frontend closed the connection";
        }
        catch (Exception ex) when (ex is VhostUserException or Interop.InteropException or ArgumentException or InvalidOperationException)
        {
            return ex.InnerException is { } inner ? $"{ex.Message} ({inner.Message})" : ex.Message;
        }
        finally
        {
            StopPort();
        }
    }

    /// <summary>Makes <see cref="Run"/> return.</summary>
    public void Stop() => _channel.Wake();

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _bridge.PortFailed -= OnPortFailed;
        StopPort();
        foreach (var ring in _rings)
        {
            ring.Reset();
        }

        _memory?.Dispose();
        _channel.Dispose();
    }

    private void Handle()
    {
        var request = _channel.Request;
        var payload = _channel.Payload;
        switch (request)
        {
            case VhostUserRequest.GetFeatures:
                _channel.Reply(VhostUserProtocol.OfferedFeatures);
                return;
            case VhostUserRequest.GetProtocolFeatures:
                _channel.Reply(VhostUserProtocol.OfferedProtocolFeatures);
                return;
            case VhostUserRequest.GetQueueNum:
                _channel.Reply((ulong)MaxQueuePairs);
                return;
            case VhostUserRequest.GetVringBase:
                ReplyVringBase(payload);
                return;
            default:
                Acknowledge(Apply(request, payload));
                return;
        }
    }

    /// <summary>Applies a request that has no reply of its own; false when refused (a reply-ack says so).</summary>
    private bool Apply(VhostUserRequest request, ReadOnlySpan<byte> payload)
    {
        switch (request)
        {
            case VhostUserRequest.SetOwner:
            case VhostUserRequest.SendRarp:
                return true;
            case VhostUserRequest.SetProtocolFeatures:
                _protocolFeatures = U64(payload) & VhostUserProtocol.OfferedProtocolFeatures;
                return true;
            case VhostUserRequest.NetSetMtu:
                Mtu = (int)Math.Min(U64(payload), int.MaxValue);
                return true;
            case VhostUserRequest.SetFeatures or VhostUserRequest.ResetOwner or VhostUserRequest.SetMemTable
                or VhostUserRequest.SetVringNum or VhostUserRequest.SetVringAddr or VhostUserRequest.SetVringBase
                or VhostUserRequest.SetVringKick or VhostUserRequest.SetVringCall or VhostUserRequest.SetVringErr
                or VhostUserRequest.SetVringEnable:
                // The port leaves the bridge before anything it reads changes, and comes back when pairs are ready.
                StopPort();
                Change(request, payload);
                StartPort();
                return true;
            default:
                return Refuse(request);
        }
    }

    private void Change(VhostUserRequest request, ReadOnlySpan<byte> payload)
    {
        switch (request)
        {
            case VhostUserRequest.SetFeatures:
                SetFeatures(U64(payload));
                break;
            case VhostUserRequest.ResetOwner:
                Reset();
                break;
            case VhostUserRequest.SetMemTable:
                SetMemTable(payload);
                break;
            case VhostUserRequest.SetVringNum:
                SetVringNum(payload);
                break;
            case VhostUserRequest.SetVringAddr:
                SetVringAddr(payload);
                break;
            case VhostUserRequest.SetVringBase:
                Ring(payload).Base = (ushort)U32(payload[4..]);
                break;
            case VhostUserRequest.SetVringEnable:
                Ring(payload).Enabled = U32(payload[4..]) != 0;
                break;
            default:
                SetVringFd(request, U64(payload));
                break;
        }
    }

    private bool Refuse(VhostUserRequest request)
    {
        if (request is VhostUserRequest.GetConfig or VhostUserRequest.IotlbMessage || !Enum.IsDefined(request))
        {
            // A request whose reply this switch cannot give (it never offered the feature that allows it): the frontend
            // would wait for it for good, so the connection ends instead.
            throw new VhostUserException($"{Path}: request {request} ({(uint)request}) is not one this switch offered");
        }

        LogRefused(_logger, _opening.Name, Path, request.ToString());
        return false;
    }

    private void Acknowledge(bool success)
    {
        if (_channel.NeedsReply && VhostUserProtocol.Has(_protocolFeatures, VhostUserProtocol.ProtocolFeatureReplyAck))
        {
            _channel.Reply(success ? 0UL : 1UL);
        }
    }

    private void SetFeatures(ulong features)
    {
        if ((features & ~VhostUserProtocol.OfferedFeatures) != 0)
        {
            throw new VhostUserException($"{Path}: SET_FEATURES 0x{features:x} acknowledges features never offered (0x{features & ~VhostUserProtocol.OfferedFeatures:x})");
        }

        _features = features;
    }

    private void Reset()
    {
        foreach (var ring in _rings)
        {
            ring.Reset();
        }

        _features = 0;
        _protocolFeatures = 0;
        _memory?.Dispose();
        _memory = null;
    }

    private void SetMemTable(ReadOnlySpan<byte> payload)
    {
        var fds = _channel.TakeFds();
        var memory = GuestMemory.Map(payload, fds);
        _memory?.Dispose();
        _memory = memory;
    }

    private void SetVringNum(ReadOnlySpan<byte> payload)
    {
        var size = U32(payload[4..]);
        if (size is 0 or > VhostUserProtocol.MaxQueueSize || (size & (size - 1)) != 0)
        {
            throw new VhostUserException($"{Path}: SET_VRING_NUM {size} (a power of two up to {VhostUserProtocol.MaxQueueSize})");
        }

        Ring(payload).Size = (int)size;
    }

    private void SetVringAddr(ReadOnlySpan<byte> payload)
    {
        if (payload.Length < 40)
        {
            throw new VhostUserException($"{Path}: SET_VRING_ADDR of {payload.Length} bytes (40)");
        }

        var ring = Ring(payload);
        ring.Descriptors = BinaryPrimitives.ReadUInt64LittleEndian(payload[8..]);
        ring.Used = BinaryPrimitives.ReadUInt64LittleEndian(payload[16..]);
        ring.Avail = BinaryPrimitives.ReadUInt64LittleEndian(payload[24..]);
        ring.HasAddresses = true;
    }

    private void SetVringFd(VhostUserRequest request, ulong value)
    {
        var index = (int)(value & VhostUserProtocol.VringIndexMask);
        var ring = index < _rings.Length ? _rings[index] : throw new VhostUserException($"{Path}: {request} for ring {index} (this port has {_rings.Length})");
        var fds = _channel.TakeFds();
        var noFd = (value & VhostUserProtocol.VringNoFd) != 0;
        if (noFd != (fds.Length == 0) || fds.Length > 1)
        {
            Array.ForEach(fds, Interop.FileDescriptor.CloseQuietly);
            throw new VhostUserException($"{Path}: {request} for ring {index} with {fds.Length} fds{(noFd ? " and the no-fd flag" : string.Empty)}");
        }

        var fd = noFd ? -1 : fds[0];
        switch (request)
        {
            case VhostUserRequest.SetVringKick:
                ring.SetKick(fd);
                ring.Started = fd >= 0;
                ring.Enabled |= !VhostUserProtocol.Has(_features, VhostUserProtocol.VhostUserProtocolFeatures);
                if (fd >= 0)
                {
                    Interop.NonBlocking.Set(fd);
                }
                else
                {
                    LogRefused(_logger, _opening.Name, Path, $"a polled ring {index} (no kick eventfd); it does not start");
                }

                break;
            case VhostUserRequest.SetVringCall:
                ring.SetCall(fd);
                break;
            default:
                ring.SetErr(fd);
                break;
        }
    }

    private void ReplyVringBase(ReadOnlySpan<byte> payload)
    {
        var index = (int)U32(payload);
        var ring = Ring(payload);
        StopPort();
        ring.Started = false;
        ring.SetKick(-1);
        Span<byte> state = stackalloc byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(state, (uint)index);
        BinaryPrimitives.WriteUInt32LittleEndian(state[4..], ring.Base);
        _channel.Reply(state);
        StartPort();
    }

    /// <summary>Builds a port over the queue pairs that are ready and adds it to the bridge; nothing when none is.</summary>
    private void StartPort()
    {
        if (_memory is null || _port is not null || _portFailed)
        {
            return;
        }

        var rx = new List<VhostUserRing>();
        var tx = new List<VhostUserRing>();
        var eventIndex = VhostUserProtocol.Has(_features, VhostUserProtocol.RingEventIndex);
        var indirect = VhostUserProtocol.Has(_features, VhostUserProtocol.RingIndirectDescriptors);
        var headerSize = VhostUserQueues.HeaderSizeFor(_features);
        for (var pair = 0; pair < MaxQueuePairs; pair++)
        {
            var (receive, transmit) = (_rings[2 * pair], _rings[(2 * pair) + 1]);
            if (receive.Ready && transmit.Ready)
            {
                rx.Add(Build(2 * pair, receive, eventIndex, indirect, headerSize));
                tx.Add(Build((2 * pair) + 1, transmit, eventIndex, indirect, headerSize));
            }
        }

        if (rx.Count == 0)
        {
            return;
        }

        try
        {
            var port = new VhostUserPort(_opening.Name, Path, new VhostUserQueues(_features, rx, tx));
            _opening.Join(port);
            _port = port;
        }
        catch
        {
            ForgetQueues();
            throw;
        }

        _opening.Announce($"port {_opening.Name} up: vhost-user {Path} ({rx.Count} queue pair{(rx.Count == 1 ? string.Empty : "s")}, features 0x{_features:x})");
    }

    private VhostUserRing Build(int index, VringSetup ring, bool eventIndex, bool indirect, int headerSize)
    {
        ring.Queue = new SplitQueue(_memory!, ring.Size, ring.Descriptors, ring.Avail, ring.Used, ring.Base, eventIndex, indirect, headerSize);
        return new VhostUserRing(index, ring.Queue, ring.KickFd, ring.CallFd);
    }

    /// <summary>Takes the port out of the bridge (waiting for the workers to leave it) and keeps where each queue stopped.</summary>
    private void StopPort()
    {
        if (_port is null)
        {
            return;
        }

        _bridge.RemovePort(_port.Name);
        _port = null;
        ForgetQueues();
    }

    /// <summary>Keeps where each queue stopped (its next available entry) and drops it.</summary>
    private void ForgetQueues()
    {
        foreach (var ring in _rings)
        {
            if (ring.Queue is { } queue)
            {
                ring.Base = queue.NextAvail;
                ring.Queue = null;
            }
        }
    }

    private VringSetup Ring(ReadOnlySpan<byte> payload)
    {
        var index = U32(payload);
        return index < _rings.Length ? _rings[index] : throw new VhostUserException($"{Path}: {_channel.Request} for ring {index} (this port has {_rings.Length})");
    }

    private ulong U64(ReadOnlySpan<byte> payload) =>
        payload.Length >= 8 ? BinaryPrimitives.ReadUInt64LittleEndian(payload) : throw new VhostUserException($"{Path}: {_channel.Request} with {payload.Length} bytes (8)");

    private uint U32(ReadOnlySpan<byte> payload) =>
        payload.Length >= 4 ? BinaryPrimitives.ReadUInt32LittleEndian(payload) : throw new VhostUserException($"{Path}: {_channel.Request} with {payload.Length} bytes (4 or more)");

    private void OnPortFailed(object? sender, PortFailedEventArgs e)
    {
        if (e.PortName == _opening.Name && _port is not null)
        {
            _portFailed = true;
            _channel.Wake();
        }
    }

    [LoggerMessage(EventId = 230, Level = LogLevel.Warning, Message = "vhost-user {Port} ({Path}): refused {Request}")]
    private static partial void LogRefused(ILogger logger, string port, string path, string request);
}
