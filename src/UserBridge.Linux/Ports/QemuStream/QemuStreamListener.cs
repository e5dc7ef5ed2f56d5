using Microsoft.Extensions.Logging;
using Tmds.Linux;
using UserBridge.Core.Learning;
using UserBridge.Core.Logging;
using UserBridge.Core.Ports;
using UserBridge.Core.Switching;
using UserBridge.Linux.Files;
using UserBridge.Linux.Interop;

namespace UserBridge.Linux.Ports.QemuStream;

/// <summary>
/// <c>type = "qemu-stream", role = "listen"</c>: the switch listens on a unix socket and QEMU connects with
/// <c>-netdev stream,server=off,addr.type=unix,addr.path=PATH</c>. Each accepted connection becomes a port:
/// named <see cref="Name"/> (one VM at a time; a second connection is refused until the first closes), or with
/// <c>multi</c> <c>NAME-1</c>, <c>NAME-2</c>, ... (one socket for many VMs, at most <see cref="MaxConnections"/> at
/// a time). A port whose connection ends is removed; the listener keeps accepting.
/// </summary>
/// <remarks>
/// A connection costs the switch two threads, two eventfds and most of a megabyte of pinned buffers, so whoever can
/// reach the socket must not be able to open them without end: a connection over the limit, or one the switch has no
/// room for, is refused before a port is built (counted in <see cref="Bridge.Refusals"/>), and a port that was built
/// but could not join the bridge is disposed with everything it holds. The per-connection lines are rate-limited: a
/// peer that connects and leaves in a loop cannot flood the log.
/// </remarks>
public sealed partial class QemuStreamListener : IDisposable, ICreatesFiles
{
    private readonly Bridge _bridge;
    private readonly int _listenerFd;
    private readonly FdWaiter _waiter;
    private readonly Thread _acceptor;
    private readonly ILogger _logger;
    private readonly Action<string> _announce;
    private readonly HashSet<string> _ports = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private readonly PortVlan? _vlan;
    private readonly PortGuard _guard;
    private readonly LogRateLimit _lines = new();
    private volatile bool _stopping;
    private int _connections;

    private readonly CreatedFile _file;

    private QemuStreamListener(Bridge bridge, string name, CreatedFile file, bool multi, int maxConnections, int listenerFd, PortVlan? vlan, PortGuard guard, ILogger logger, Action<string> announce)
    {
        _file = file;
        var path = file.Path;
        MaxConnections = multi ? maxConnections : 1;
        _vlan = vlan;
        _guard = guard;
        _bridge = bridge;
        Name = name;
        Path = path;
        Multi = multi;
        _listenerFd = listenerFd;
        _logger = logger;
        _announce = announce;
        _waiter = new FdWaiter(path);
        _bridge.PortFailed += OnPortFailed;
        _acceptor = new Thread(AcceptLoop) { IsBackground = true, Name = $"ub-accept-{name}" };
        _acceptor.Start();
    }

    public string Name { get; }

    public string Path { get; }

    public bool Multi { get; }

    /// <summary>The socket file it bound.</summary>
    public CreatedFile File => _file;

    IReadOnlyList<CreatedFile> ICreatesFiles.Files => [_file];

    /// <summary>The most connections (ports) served at once: <c>max_connections</c> with <c>multi</c>, else 1.</summary>
    public int MaxConnections { get; }

    /// <summary>The default <c>max_connections</c> of a <c>multi</c> socket.</summary>
    public const int DefaultMaxConnections = 64;

    /// <summary>Binds and listens on <paramref name="path"/> (a stale socket is replaced, any other file refused), then accepts in the background.</summary>
    public static QemuStreamListener Start(Bridge bridge, string name, string path, bool multi, int maxConnections, UnixFileMode mode, string? group, PortVlan? vlan, PortGuard guard, ILogger logger, Action<string> announce)
    {
        ArgumentNullException.ThrowIfNull(bridge);
        var fd = UnixSocket.CreateStream(path);
        try
        {
            var bound = SocketFile.Bind(fd, path, mode, group);
            UnixSocket.Listen(fd, path);
            return new QemuStreamListener(bridge, name, bound, multi, maxConnections, fd, vlan, guard, logger, announce);
        }
        catch
        {
            FileDescriptor.CloseQuietly(fd);
            throw;
        }
    }

    public void Dispose()
    {
        _stopping = true;
        _bridge.PortFailed -= OnPortFailed;
        _waiter.Wake();
        _acceptor.Join();
        FileDescriptor.CloseQuietly(_listenerFd);
        _waiter.Dispose();
        SocketFile.RemoveIfSame(_file);
    }

    private void AcceptLoop()
    {
        while (!_stopping)
        {
            if (_waiter.Wait(_listenerFd, LibC.POLLIN) == FdWaiter.Woken)
            {
                continue;
            }

            try
            {
                var fd = UnixSocket.Accept(_listenerFd, Path);
                if (fd >= 0)
                {
                    Attach(fd);
                }
            }
            catch (InteropException ex)
            {
                if (_lines.TryPass(out var suppressed))
                {
                    LogAcceptFailed(_logger, Name, Path, ex.Message + suppressed);
                }

                Thread.Sleep(100);
            }
        }
    }

    private void Attach(int fd)
    {
        string portName;
        lock (_lock)
        {
            if (Refusal() is { } refusal)
            {
                Refuse(fd, refusal);
                return;
            }

            portName = NextName();
            _ports.Add(portName);
        }

        QemuStreamPort? port = null;
        try
        {
            port = new QemuStreamPort(portName, Path, fd, _logger);
            _bridge.AddPort(port, isUp: true, _vlan, _guard);
            _lines.Write($"port {portName} up: qemu-stream {Path} (a VM connected)", _announce);
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or InteropException)
        {
            // The port owns the connection once built: disposing it stops its sender and closes the fd, eventfds and
            // buffers; before that, the fd is ours to close.
            if (port is null)
            {
                FileDescriptor.CloseQuietly(fd);
            }
            else
            {
                port.Dispose();
            }

            lock (_lock)
            {
                _ports.Remove(portName);
            }

            // The switch stopping (the bridge disposed) or an fd it could not open refuses nothing worth counting.
            if (ex is ArgumentException or InvalidOperationException and not ObjectDisposedException)
            {
                _bridge.CountRefusal(ex is ArgumentException ? PortRefusal.NameTaken : PortRefusal.SwitchFull);
            }

            LogRateLimited(portName, ex.Message);
        }
    }

    /// <summary>Why the connection just accepted cannot have a port, before one is built; null when it can.</summary>
    private PortRefusal? Refusal() =>
        !Multi && _ports.Count > 0 ? PortRefusal.Busy
        : _ports.Count >= MaxConnections ? PortRefusal.ConnectionLimit
        : !_bridge.HasRoomForPort ? PortRefusal.SwitchFull
        : null;

    private void Refuse(int fd, PortRefusal refusal)
    {
        FileDescriptor.CloseQuietly(fd);
        _bridge.CountRefusal(refusal);
        LogRateLimited(Name, refusal switch
        {
            PortRefusal.Busy => "a second VM tried to connect; refused (set multi = true to serve several)",
            PortRefusal.ConnectionLimit => $"a connection over max_connections = {MaxConnections}; refused",
            _ => $"the switch holds {MacTable.MaxPorts} ports, the most it can; a connection was refused",
        });
    }

    /// <summary>
    /// The port name for the next connection: the listener's own, or with <c>multi</c> the next <c>NAME-N</c> that no
    /// port of the switch has (a port added by hand may have taken one).
    /// </summary>
    private string NextName()
    {
        if (!Multi)
        {
            return Name;
        }

        var snapshot = _bridge.Snapshot;
        string name;
        do
        {
            name = $"{Name}-{++_connections}";
        }
        while (_ports.Contains(name) || snapshot.Find(name) is not null);

        return name;
    }

    private void LogRateLimited(string port, string reason)
    {
        if (_lines.TryPass(out var suppressed))
        {
            LogRefused(_logger, port, Path, reason + suppressed);
        }
    }

    private void OnPortFailed(object? sender, PortFailedEventArgs e)
    {
        lock (_lock)
        {
            if (!_ports.Remove(e.PortName))
            {
                return;
            }
        }

        _bridge.RemovePort(e.PortName);
        _lines.Write($"port {e.PortName} removed: its VM disconnected from {Path}", _announce);
    }

    [LoggerMessage(EventId = 210, Level = LogLevel.Warning, Message = "qemu-stream {Port} ({Path}): {Reason}")]
    private static partial void LogRefused(ILogger logger, string port, string path, string reason);

    [LoggerMessage(EventId = 211, Level = LogLevel.Error, Message = "qemu-stream {Port} ({Path}): {Reason}")]
    private static partial void LogAcceptFailed(ILogger logger, string port, string path, string reason);
}
