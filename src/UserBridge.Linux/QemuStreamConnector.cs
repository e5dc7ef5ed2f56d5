using Microsoft.Extensions.Logging;
using UserBridge.Core;

namespace UserBridge.Linux;

/// <summary>
/// <c>type = "qemu-stream", role = "connect"</c>: QEMU listens (<c>-netdev stream,server=on,...</c>) and the
/// switch connects, retrying every <see cref="RetryInterval"/> until QEMU is there, and again after the
/// connection ends (the VM restarted). QEMU 7.2 clients never reconnect, so this is the role that survives a
/// switch restart.
/// </summary>
public sealed partial class QemuStreamConnector : IDisposable
{
    public static readonly TimeSpan RetryInterval = TimeSpan.FromMilliseconds(250);

    private readonly Bridge _bridge;
    private readonly ILogger _logger;
    private readonly Action<string> _announce;
    private readonly Thread _thread;
    private readonly AutoResetEvent _disconnected = new(false);
    private readonly CancellationTokenSource _stop = new();
    private volatile bool _connected;

    private QemuStreamConnector(Bridge bridge, string name, string path, ILogger logger, Action<string> announce)
    {
        _bridge = bridge;
        Name = name;
        Path = path;
        _logger = logger;
        _announce = announce;
        _bridge.PortFailed += OnPortFailed;
        _thread = new Thread(ConnectLoop) { IsBackground = true, Name = $"ub-connect-{name}" };
        _thread.Start();
    }

    public string Name { get; }

    public string Path { get; }

    public static QemuStreamConnector Start(Bridge bridge, string name, string path, ILogger logger, Action<string> announce)
    {
        ArgumentNullException.ThrowIfNull(bridge);
        Span<byte> check = stackalloc byte[UnixSocket.AddressSize];
        UnixSocket.WriteAddress(path, check);
        return new QemuStreamConnector(bridge, name, path, logger, announce);
    }

    public void Dispose()
    {
        _bridge.PortFailed -= OnPortFailed;
        _stop.Cancel();
        _disconnected.Set();
        _thread.Join();
        _disconnected.Dispose();
        _stop.Dispose();
    }

    private void ConnectLoop()
    {
        var waitingLogged = false;
        while (!_stop.IsCancellationRequested)
        {
            if (_connected)
            {
                _disconnected.WaitOne();
                continue;
            }

            var fd = UnixSocket.CreateStream(Path);
            if (UnixSocket.TryConnect(fd, Path, out var errno))
            {
                try
                {
                    _connected = true;
                    _bridge.AddPort(new QemuStreamPort(Name, Path, fd, _logger));
                    _announce($"port {Name} up: qemu-stream {Path} (connected to QEMU)");
                    waitingLogged = false;
                }
                catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or ObjectDisposedException)
                {
                    _connected = false;
                    TunInterop.CloseQuietly(fd);
                    LogFailed(_logger, Name, Path, ex.Message);
                }

                continue;
            }

            TunInterop.CloseQuietly(fd);
            if (!waitingLogged)
            {
                waitingLogged = true;
                LogWaiting(_logger, Name, Path, Errno.Describe(errno));
            }

            _stop.Token.WaitHandle.WaitOne(RetryInterval);
        }
    }

    private void OnPortFailed(object? sender, PortFailedEventArgs e)
    {
        if (e.PortName != Name || !_connected)
        {
            return;
        }

        _bridge.RemovePort(Name);
        _announce($"port {Name} removed: QEMU at {Path} closed the connection; reconnecting");
        _connected = false;
        _disconnected.Set();
    }

    [LoggerMessage(EventId = 220, Level = LogLevel.Information, Message = "qemu-stream {Port}: waiting for QEMU to listen on {Path} ({Reason}); retrying")]
    private static partial void LogWaiting(ILogger logger, string port, string path, string reason);

    [LoggerMessage(EventId = 221, Level = LogLevel.Error, Message = "qemu-stream {Port} ({Path}): {Reason}")]
    private static partial void LogFailed(ILogger logger, string port, string path, string reason);
}
