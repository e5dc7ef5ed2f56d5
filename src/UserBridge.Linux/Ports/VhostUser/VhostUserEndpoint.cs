using Microsoft.Extensions.Logging;
using Tmds.Linux;
using UserBridge.Core.Logging;
using UserBridge.Linux.Files;
using UserBridge.Linux.Interop;

namespace UserBridge.Linux.Ports.VhostUser;

/// <summary>
/// A <c>vhost-user</c> port's socket and the thread that serves it: with <c>role = "server"</c> it listens and serves
/// one frontend at a time (the next connection waits in the backlog until the first leaves); with
/// <c>role = "client"</c> it connects to QEMU, and again a second after each connection ends, so a VM whose QEMU
/// listens (<c>server=on</c>) talks again after the switch or the connection restarts. Each connection is a
/// <see cref="VhostUserSession"/>, which puts the port in the bridge while the VM's rings run.
/// </summary>
public sealed partial class VhostUserEndpoint : IDisposable, ICreatesFiles
{
    private const int ReconnectMs = 1000;

    private readonly PortOpening _opening;
    private readonly VhostUserSettings _settings;
    private readonly int _listenerFd;
    private readonly CreatedFile? _file;
    private readonly FdWaiter _waiter;
    private readonly ManualResetEventSlim _stop = new();
    private readonly LogRateLimit _lines = new();
    private readonly Lock _lock = new();
    private readonly Thread _thread;
    private VhostUserSession? _session;
    private bool _stopping;

    private VhostUserEndpoint(PortOpening opening, VhostUserSettings settings, int listenerFd, CreatedFile? file)
    {
        _opening = opening;
        _settings = settings;
        _listenerFd = listenerFd;
        _file = file;
        _waiter = new FdWaiter(settings.Path);
        _thread = new Thread(Serve) { IsBackground = true, Name = $"ub-vhost-{opening.Name}" };
        _thread.Start();
    }

    public IReadOnlyList<CreatedFile> Files => _file is null ? [] : [_file];

    /// <summary>Binds and listens (server role: a stale socket is replaced, any other file refused), then serves in the background.</summary>
    public static VhostUserEndpoint Start(PortOpening opening, VhostUserSettings settings)
    {
        ArgumentNullException.ThrowIfNull(opening);
        ArgumentNullException.ThrowIfNull(settings);
        var path = settings.Path;
        if (settings.Role == VhostUserSettings.RoleClient)
        {
            Span<byte> check = stackalloc byte[UnixSocket.AddressSize];
            UnixSocket.WriteAddress(path, check);
            return new VhostUserEndpoint(opening, settings, -1, null);
        }

        var fd = UnixSocket.CreateStream(path);
        try
        {
            var bound = SocketFile.Bind(fd, path, settings.Mode, settings.Group);
            UnixSocket.Listen(fd, path);
            return new VhostUserEndpoint(opening, settings, fd, bound);
        }
        catch
        {
            FileDescriptor.CloseQuietly(fd);
            throw;
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _stopping = true;
            _session?.Stop();
        }

        _stop.Set();
        _waiter.Wake();
        _thread.Join();
        if (_listenerFd >= 0)
        {
            FileDescriptor.CloseQuietly(_listenerFd);
        }

        if (_file is not null)
        {
            SocketFile.RemoveIfSame(_file);
        }

        _waiter.Dispose();
        _stop.Dispose();
    }

    private void Serve()
    {
        while (!Volatile.Read(ref _stopping))
        {
            var fd = _listenerFd >= 0 ? Accept() : Connect();
            if (fd >= 0)
            {
                Run(fd);
            }
        }
    }

    private int Accept()
    {
        if (_waiter.Wait(_listenerFd, LibC.POLLIN) == FdWaiter.Woken)
        {
            return -1;
        }

        try
        {
            return UnixSocket.Accept(_listenerFd, _settings.Path);
        }
        catch (InteropException ex)
        {
            Say(ex.Message);
            _stop.Wait(100);
            return -1;
        }
    }

    private int Connect()
    {
        var fd = UnixSocket.CreateStream(_settings.Path);
        if (UnixSocket.TryConnect(fd, _settings.Path, out _))
        {
            return fd;
        }

        FileDescriptor.CloseQuietly(fd);
        _stop.Wait(ReconnectMs);
        return -1;
    }

    private void Run(int fd)
    {
        var session = new VhostUserSession(_opening, _settings.Path, fd, _settings.Queues);
        lock (_lock)
        {
            if (_stopping)
            {
                session.Dispose();
                return;
            }

            _session = session;
        }

        var reason = session.Run();
        lock (_lock)
        {
            _session = null;
        }

        session.Dispose();
        if (!Volatile.Read(ref _stopping))
        {
            Say($"connection ended: {reason}");
            if (_listenerFd < 0)
            {
                _stop.Wait(ReconnectMs);
            }
        }
    }

    private void Say(string reason)
    {
        if (_lines.TryPass(out var suppressed))
        {
            LogEnded(_opening.Logger, _opening.Name, _settings.Path, reason + suppressed);
        }
    }

    [LoggerMessage(EventId = 231, Level = LogLevel.Information, Message = "vhost-user {Port} ({Path}): {Reason}")]
    private static partial void LogEnded(ILogger logger, string port, string path, string reason);
}
