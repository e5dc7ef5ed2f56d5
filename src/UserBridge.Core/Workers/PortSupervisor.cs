using Microsoft.Extensions.Logging;
using UserBridge.Core.Ports;
using UserBridge.Core.Switching;

namespace UserBridge.Core.Workers;

/// <summary>
/// Keeps one port on the bridge whose far end comes and goes: a QEMU that listens for the switch (stream
/// <c>connect</c> role), a VM's TAP attached through AF_PACKET. It tries to open the port every
/// <see cref="RetryInterval"/> until it can, and when the port fails (the VM stopped, its interface vanished)
/// puts it down (listed, forwarding nothing) and starts trying again, so the port comes back by itself when the
/// VM does.
/// </summary>
public sealed partial class PortSupervisor : IDisposable
{
    public static readonly TimeSpan RetryInterval = TimeSpan.FromMilliseconds(250);

    /// <summary>How long the constructor waits for the first attempt to open the port (local system calls, normally).</summary>
    public static readonly TimeSpan FirstAttemptTimeout = TimeSpan.FromSeconds(10);

    private readonly Bridge _bridge;
    private readonly Func<IPort?> _tryOpen;
    private readonly Action<string> _announce;
    private readonly Thread _thread;
    private readonly AutoResetEvent _detached = new(false);
    private readonly ManualResetEventSlim _firstAttempt = new(false);
    private readonly CancellationTokenSource _stop = new();
    private readonly PortVlan? _vlan;
    private readonly PortGuard _guard;
    private volatile bool _attached;

    /// <summary>
    /// Starts supervising: the port is listed, down, at once, and is up when this returns if its far end is there: the
    /// constructor waits for the first attempt to open it, so that a switch that says it is ready (systemd's
    /// <c>READY=1</c>) or a <c>port add</c> that replies has opened every port it could. <paramref name="tryOpen"/> opens
    /// the port, or returns null when its far end is not there yet; it may throw (the error is logged once and retried).
    /// </summary>
    public PortSupervisor(Bridge bridge, string name, string type, string endpoint, string waitingFor, PortVlan? vlan, PortGuard guard, Func<IPort?> tryOpen, Action<string> announce)
    {
        ArgumentNullException.ThrowIfNull(bridge);
        _bridge = bridge;
        Name = name;
        Type = type;
        Endpoint = endpoint;
        WaitingFor = waitingFor;
        _tryOpen = tryOpen;
        _announce = announce;
        _vlan = vlan;
        _guard = guard;
        _bridge.AddPort(new DetachedPort(name, type, endpoint), isUp: false, vlan, guard);
        _bridge.PortFailed += OnPortFailed;
        _thread = new Thread(Run) { IsBackground = true, Name = $"ub-supervise-{name}" };
        _thread.Start();
        _firstAttempt.Wait(FirstAttemptTimeout);
    }

    public string Name { get; }

    /// <summary>The type of the port it keeps (what <c>port show</c> says while the port is down).</summary>
    public string Type { get; }

    /// <summary>The interface or socket the port attaches to.</summary>
    public string Endpoint { get; }

    /// <summary>What the supervisor waits for, in words ("QEMU to listen on /run/vm1.sock").</summary>
    public string WaitingFor { get; }

    public void Dispose()
    {
        _bridge.PortFailed -= OnPortFailed;
        _stop.Cancel();
        _detached.Set();
        _thread.Join();
        _bridge.RemovePort(Name);

        _detached.Dispose();
        _firstAttempt.Dispose();
        _stop.Dispose();
    }

    private void Run()
    {
        string? lastError = null;
        var waitingLogged = false;
        while (!_stop.IsCancellationRequested)
        {
            if (_attached)
            {
                _detached.WaitOne();
                continue;
            }

            IPort? port = null;
            try
            {
                port = _tryOpen();
                if (port is not null)
                {
                    _attached = true;
                    var (vlan, guard) = (CurrentVlan(), CurrentGuard());
                    _bridge.RemovePort(Name);
                    _bridge.AddPort(port, isUp: true, vlan, guard);
                    _announce($"port {Name} up: {port.Type} {port.Interface}");
                    lastError = null;
                    waitingLogged = false;
                    _firstAttempt.Set();
                    continue;
                }
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                _attached = false;
                port?.Dispose();
                if (ex.Message != lastError)
                {
                    lastError = ex.Message;
                    LogOpenFailed(_bridge.Logger, Name, ex.Message);
                }
            }

            if (!waitingLogged && lastError is null)
            {
                waitingLogged = true;
                LogWaiting(_bridge.Logger, Name, WaitingFor);
            }

            _firstAttempt.Set();
            _stop.Token.WaitHandle.WaitOne(RetryInterval);
        }
    }

    private void OnPortFailed(object? sender, PortFailedEventArgs e)
    {
        if (e.PortName != Name || !_attached)
        {
            return;
        }

        // The port stays listed, down, until its far end is back (a VM that stopped shows as such).
        var (vlan, guard) = (CurrentVlan(), CurrentGuard());
        _bridge.RemovePort(Name);
        _bridge.AddPort(new DetachedPort(Name, Type, Endpoint), isUp: false, vlan, guard);
        _announce($"port {Name} down: {e.Exception.Message}; waiting for {WaitingFor}");
        _attached = false;
        _detached.Set();
    }

    /// <summary>The port's guards as they are now (a reload may have changed them since it was configured).</summary>
    private PortGuard CurrentGuard() => _bridge.Snapshot.Find(Name)?.Guard ?? _guard;

    /// <summary>The port's VLAN settings as they are now (<c>port set</c> may have changed them since it was configured).</summary>
    private PortVlan? CurrentVlan() => _bridge.Snapshot.Find(Name) switch
    {
        { HasVlanSettings: true } slot => slot.Vlan,
        null => _vlan,
        _ => null,
    };

    [LoggerMessage(EventId = 30, Level = LogLevel.Information, Message = "port {Port}: waiting for {What}")]
    private static partial void LogWaiting(ILogger logger, string port, string what);

    [LoggerMessage(EventId = 31, Level = LogLevel.Warning, Message = "port {Port}: {Reason}; retrying")]
    private static partial void LogOpenFailed(ILogger logger, string port, string reason);
}
