using Microsoft.Extensions.Logging;
using Tmds.Linux;
using UserBridge.Core;

namespace UserBridge.Linux;

/// <summary>
/// <c>type = "qemu-stream", role = "listen"</c>: the switch listens on a unix socket and QEMU connects with
/// <c>-netdev stream,server=off,addr.type=unix,addr.path=PATH</c>. Each accepted connection becomes a port:
/// named <see cref="Name"/> (one VM at a time; a second connection is refused until the first closes), or with
/// <c>multi</c> <c>NAME-1</c>, <c>NAME-2</c>, ... (one socket for many VMs). A port whose connection ends is
/// removed; the listener keeps accepting.
/// </summary>
public sealed partial class QemuStreamListener : IDisposable
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
    private volatile bool _stopping;
    private int _connections;

    private QemuStreamListener(Bridge bridge, string name, string path, bool multi, int listenerFd, PortVlan? vlan, PortGuard guard, ILogger logger, Action<string> announce)
    {
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

    /// <summary>Binds and listens on <paramref name="path"/> (a stale socket file is replaced), then accepts in the background.</summary>
    public static QemuStreamListener Start(Bridge bridge, string name, string path, bool multi, UnixFileMode mode, string? group, PortVlan? vlan, PortGuard guard, ILogger logger, Action<string> announce)
    {
        ArgumentNullException.ThrowIfNull(bridge);
        var fd = UnixSocket.CreateStream(path);
        try
        {
            UnixSocket.Unlink(path);
            UnixSocket.Bind(fd, path);
            SocketFile.SetAccess(path, mode, group);
            UnixSocket.Listen(fd, path);
            return new QemuStreamListener(bridge, name, path, multi, fd, vlan, guard, logger, announce);
        }
        catch
        {
            TunInterop.CloseQuietly(fd);
            throw;
        }
    }

    public void Dispose()
    {
        _stopping = true;
        _bridge.PortFailed -= OnPortFailed;
        _waiter.Wake();
        _acceptor.Join();
        TunInterop.CloseQuietly(_listenerFd);
        _waiter.Dispose();
        UnixSocket.Unlink(Path);
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
                LogAcceptFailed(_logger, Name, Path, ex.Message);
                Thread.Sleep(100);
            }
        }
    }

    private void Attach(int fd)
    {
        string portName;
        lock (_lock)
        {
            if (!Multi && _ports.Count > 0)
            {
                TunInterop.CloseQuietly(fd);
                LogRefused(_logger, Name, Path);
                return;
            }

            var connection = ++_connections;
            portName = Multi ? $"{Name}-{connection}" : Name;
            _ports.Add(portName);
        }

        try
        {
            _bridge.AddPort(new QemuStreamPort(portName, Path, fd, _logger), isUp: true, _vlan, _guard);
            _announce($"port {portName} up: qemu-stream {Path} (a VM connected)");
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or ObjectDisposedException)
        {
            TunInterop.CloseQuietly(fd);
            lock (_lock)
            {
                _ports.Remove(portName);
            }

            LogAcceptFailed(_logger, portName, Path, ex.Message);
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
        _announce($"port {e.PortName} removed: its VM disconnected from {Path}");
    }

    [LoggerMessage(EventId = 210, Level = LogLevel.Warning, Message = "qemu-stream {Port} ({Path}): a second VM tried to connect; refused (set multi = true to serve several)")]
    private static partial void LogRefused(ILogger logger, string port, string path);

    [LoggerMessage(EventId = 211, Level = LogLevel.Error, Message = "qemu-stream {Port} ({Path}): {Reason}")]
    private static partial void LogAcceptFailed(ILogger logger, string port, string path, string reason);
}
