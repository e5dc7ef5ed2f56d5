using Microsoft.Extensions.Logging;
using UserBridge.Control.Config;
using UserBridge.Control.Management;
using UserBridge.Core.Switching;
using UserBridge.Linux.Files;
using UserBridge.Linux.Ports;

namespace UserBridge.Control.Runtime;

/// <summary>
/// The running switch: its bridge, the ports it opened (each through its type, <see cref="IPortType.Open"/>, at start
/// from the config and at runtime from <c>port add</c>/<c>port del</c>), its captures and mirrors, its events and its
/// reload. Socket ports whose connections come and go (qemu-stream) are owned by an endpoint (listener or connector)
/// that adds and removes the bridge ports itself.
/// </summary>
public sealed class RunningSwitch(Bridge bridge, ILogger logger, Action<string> announce) : IDisposable
{
    private readonly Dictionary<string, IDisposable> _endpoints = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    public Bridge Bridge { get; } = bridge;

    /// <summary>The switch's captures and mirrors (served by the same management verbs).</summary>
    public CaptureManager Captures { get; } = new(bridge, logger);

    /// <summary>What <see cref="ReloadConfig"/> runs (set by the host when it has a config file to re-read).</summary>
    public Func<IReadOnlyList<string>>? Reloader { get; set; }

    /// <summary>The switch's events, for <c>monitor</c> clients.</summary>
    public EventHub Events { get; } = new(bridge);

    /// <summary>
    /// False once a switch started with <c>runtime_changes = false</c> is running: no port may be added and nothing
    /// re-read, so the process keeps no capability.
    /// </summary>
    public bool RuntimeChanges { get; set; } = true;

    /// <summary>
    /// Re-reads the configuration and applies the difference (<c>reload</c>, SIGHUP); returns what changed. Whatever goes
    /// wrong short of running out of memory (a file that does not parse, a value out of range, a port that cannot open)
    /// comes back as a <see cref="ManagementException"/> that says the reload was refused and whether the running config
    /// stays: a reload must never end the switch it reloads.
    /// </summary>
    public IReadOnlyList<string> ReloadConfig()
    {
        RefuseWithoutRuntimeChanges("reload");
        var reloader = Reloader ?? throw new ManagementException("this switch was started without a config file: there is nothing to re-read");
        try
        {
            return reloader();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            throw new ManagementException(ex is IncompleteRollbackException ? $"reload refused, and part of it could not be undone: {ex.Message}" : $"reload refused, the running config stays: {ex.Message}", ex);
        }
    }

    /// <summary>Throws when runtime changes are off (<see cref="RuntimeChanges"/>).</summary>
    public void RefuseWithoutRuntimeChanges(string what)
    {
        if (!RuntimeChanges)
        {
            throw new ManagementException($"{what}: this switch runs with runtime_changes = false (it keeps no capability to open ports); change the config and restart it");
        }
    }

    /// <summary>Opens the port through its type; errors name the interface or path and the errno text.</summary>
    public void Add(PortConfig port)
    {
        ArgumentNullException.ThrowIfNull(port);
        lock (_lock)
        {
            if (_endpoints.ContainsKey(port.Name) || Bridge.Snapshot.Find(port.Name) is not null)
            {
                throw new ArgumentException($"a port named '{port.Name}' already exists");
            }

            _endpoints.Add(port.Name, port.Type.Open(port.Settings, new PortOpening(Bridge, port.Name, port.Vlan, port.Guard, logger, announce)));
        }
    }

    /// <summary>The files the ports created (QEMU sockets), for the janitor of a switch that drops privileges.</summary>
    public IReadOnlyList<CreatedFile> SocketFiles()
    {
        lock (_lock)
        {
            return [.. _endpoints.Values.Select(endpoint => endpoint is IPortHandle handle ? handle.Port : endpoint).OfType<ICreatesFiles>().SelectMany(owner => owner.Files)];
        }
    }

    /// <summary>Removes a port, or a socket endpoint with every port it holds; a port a listener made (<c>vms-2</c>) too.</summary>
    public bool Remove(string name)
    {
        IDisposable? endpoint;
        lock (_lock)
        {
            _endpoints.Remove(name, out endpoint);
        }

        if (endpoint is not null)
        {
            endpoint.Dispose();
            return true;
        }

        return Bridge.RemovePort(name);
    }

    public void Dispose()
    {
        List<IDisposable> endpoints;
        lock (_lock)
        {
            endpoints = [.. _endpoints.Values];
            _endpoints.Clear();
        }

        Captures.Dispose();
        Events.Dispose();
        foreach (var endpoint in endpoints)
        {
            endpoint.Dispose();
        }
    }
}
