using System.Net;
using Microsoft.Extensions.Logging;
using UserBridge.Control.Config;
using UserBridge.Control.Management;
using UserBridge.Control.Metrics;
using UserBridge.Core.Switching;
using UserBridge.Linux.Host;

namespace UserBridge.Control.Runtime;

/// <summary>
/// A running switch: the bridge, its ports opened from the config, and the management socket. Disposing it
/// stops the workers, closes the ports (TAPs the switch created disappear) and removes the socket.
/// </summary>
public sealed partial class SwitchHost : IDisposable
{
    private const string TunDevice = "/dev/net/tun";

    private readonly ManagementServer _server;
    private readonly RunningSwitch _ports;
    private readonly SwitchRegistry.Registration? _registration;
    private readonly SwitchMetrics _metrics;
    private readonly PrometheusEndpoint? _prometheus;
    private readonly DropReporter _drops;
    private readonly ILogger _logger;

    private SwitchHost(SwitchConfig config, RunningSwitch ports, ManagementServer server, SwitchMetrics metrics, PrometheusEndpoint? prometheus, ILogger logger)
    {
        Config = config;
        _ports = ports;
        _server = server;
        _metrics = metrics;
        _prometheus = prometheus;
        _logger = logger;
        _drops = new DropReporter(ports.Bridge, logger);
        _registration = SwitchRegistry.Register(config.Name, server.Path);
    }

    public SwitchConfig Config { get; }

    public Bridge Bridge => _ports.Bridge;

    public string ControlPath => _server.Path;

    /// <summary>
    /// Opens every configured port (failing as a whole if one cannot be opened, naming the interface and the
    /// errno text), starts the workers and the management socket. <paramref name="announce"/> gets one line
    /// per port as it comes up.
    /// </summary>
    public static SwitchHost Start(SwitchConfig config, ILogger logger, Action<string> announce, Func<SwitchConfig>? reload = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(announce);
        var errors = ConfigLoader.Validate(config, "configuration");
        if (errors.Count > 0)
        {
            throw new ConfigException(errors);
        }

        var bridge = new Bridge(config.ToBridgeOptions(), TimeProvider.System, logger);
        var ports = new RunningSwitch(bridge, logger, announce);
        var metrics = new SwitchMetrics(bridge);
        PrometheusEndpoint? prometheus = null;
        ManagementServer? server = null;
        SwitchHost? host = null;
        try
        {
            var applier = new ConfigApplier(ports, announce);
            applier.Apply(config);
            if (reload is not null)
            {
                ports.Reloader = () => applier.Apply(reload());
            }

            ports.RuntimeChanges = config.RuntimeChanges;
            bridge.Start();
            server = ManagementServer.Start(config.ControlPath, ports, logger, ManagementOptions.From(config));
            prometheus = StartMetrics(config, announce);
            if (config.ForwardLinkLocal)
            {
                announce("warning: forward_link_local = true: STP, LACP, LLDP and 802.1X frames are forwarded between ports, so two switches joined through this one can form a loop that spanning tree will not see");
            }

            host = new SwitchHost(config, ports, server, metrics, prometheus, logger);
            if (config.User is { } user)
            {
                DropPrivileges(config, user, server, ports, host._registration, announce);
            }

            announce($"switch {config.Name} running: {config.Ports.Count} port(s), control socket {server.Path}");
            return host;
        }
        catch when (host is not null)
        {
            host.Dispose();
            throw;
        }
        catch
        {
            prometheus?.Dispose();
            server?.Dispose();
            metrics.Dispose();
            ports.Dispose();
            bridge.Dispose();
            throw;
        }
    }

    /// <summary>Serves the metrics where <c>metrics</c> says (null: nowhere), saying so, and warning when it is not loopback.</summary>
    private static PrometheusEndpoint? StartMetrics(SwitchConfig config, Action<string> announce)
    {
        if (config.Metrics is not { } endpoint)
        {
            return null;
        }

        var prometheus = PrometheusEndpoint.Start(endpoint);
        announce($"metrics at {prometheus.Url}{(IPAddress.IsLoopback(endpoint.Address) ? string.Empty : " (not loopback: anyone who reaches it reads the counters)")}");
        return prometheus;
    }

    /// <summary>
    /// Becomes <paramref name="user"/> now that everything needing root is open: the management socket is handed to the
    /// user (and group), and CAP_NET_ADMIN and CAP_NET_RAW stay on one broker thread when runtime changes are allowed.
    /// </summary>
    private static void DropPrivileges(SwitchConfig config, string user, ManagementServer server, RunningSwitch ports, SwitchRegistry.Registration? registration, Action<string> announce)
    {
        Account account;
        try
        {
            account = Privileges.Resolve(user, config.Group);
        }
        catch (ArgumentException ex)
        {
            throw new ConfigException([ex.Message]);
        }

        server.Restrict(account);

        // The user may not be able to remove what root created (in /run/userbridge, say): a janitor removes it at exit.
        ExitJanitor.Start([server.File, .. registration is null ? [] : new[] { registration.File }, .. ports.SocketFiles()]);
        var keep = !config.RuntimeChanges ? Capabilities.None
            : Privileges.MayReadWrite(TunDevice, account) ? Capabilities.NetAdmin | Capabilities.NetRaw
            : Capabilities.NetAdmin | Capabilities.NetRaw | Capabilities.DacOverride;
        Privileges.DropTo(account, keep);
        var group = config.Group is null ? string.Empty : $", group {config.Group} may manage it";
        announce(keep switch
        {
            Capabilities.None => $"running as {user}{group}; no capabilities kept (runtime_changes = false: no port add or reload)",
            _ when keep.HasFlag(Capabilities.DacOverride) => $"running as {user}{group}; CAP_NET_ADMIN, CAP_NET_RAW and CAP_DAC_OVERRIDE ({TunDevice} is not open to {user}) kept on one thread for runtime port changes",
            _ => $"running as {user}{group}; CAP_NET_ADMIN and CAP_NET_RAW kept on one thread for runtime port changes",
        });
    }

    /// <summary>Re-reads the configuration and applies the difference (what SIGHUP does); returns what changed.</summary>
    public IReadOnlyList<string> Reload() => _ports.ReloadConfig();

    /// <summary>One line of totals, for live progress output.</summary>
    public string SummaryLine()
    {
        long rx = 0, tx = 0, drops = 0, floods = 0;
        var up = 0;
        foreach (var slot in Bridge.Snapshot.Ports)
        {
            if (slot is null)
            {
                continue;
            }

            up += slot.IsUp ? 1 : 0;
            rx += slot.Counters.RxFrames;
            tx += slot.Counters.TxFrames;
            drops += slot.Counters.TotalDrops;
            floods += slot.Counters.Floods;
        }

        return $"{Config.Name}: {up} port(s) up, {Bridge.MacTable.Count} MAC(s), rx {rx} tx {tx} frames, floods {floods}, drops {drops}, gc {GC.CollectionCount(0)}/{GC.CollectionCount(1)}/{GC.CollectionCount(2)}, heap {GC.GetGCMemoryInfo().HeapSizeBytes >> 20} MiB";
    }

    /// <summary>
    /// Stops every part, each even if one before it failed: whatever goes wrong (a file the switch's user may no longer
    /// touch), the ports close and the TAPs the switch created go with them.
    /// </summary>
    public void Dispose()
    {
        Stop("the registry entry", () => _registration?.Dispose());
        Stop("the drop reporter", _drops.Dispose);
        Stop("the metrics endpoint", () => _prometheus?.Dispose());
        Stop("the metrics", _metrics.Dispose);
        Stop("the management socket", _server.Dispose);
        Stop("the ports", _ports.Dispose);
        Stop("the bridge", Bridge.Dispose);
    }

    private void Stop(string part, Action dispose)
    {
        try
        {
            dispose();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogStopFailed(_logger, part, ex.Message);
        }
    }

    [LoggerMessage(EventId = 120, Level = LogLevel.Error, Message = "stopping {Part} failed: {Reason}; the rest of the switch stops all the same")]
    private static partial void LogStopFailed(ILogger logger, string part, string reason);
}
