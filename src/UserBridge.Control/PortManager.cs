using Microsoft.Extensions.Logging;
using UserBridge.Core;
using UserBridge.Linux;

namespace UserBridge.Control;

/// <summary>
/// Opens and closes ports of every type on a bridge, at start from the config and at runtime from
/// <c>port add</c>/<c>port del</c>. Socket ports whose connections come and go (qemu-stream) are owned by an
/// endpoint (listener or connector) that adds and removes the bridge ports itself.
/// </summary>
public sealed class PortManager(Bridge bridge, ILogger logger, Action<string> announce) : IDisposable
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

    /// <summary>Opens the port; errors name the interface or path and the errno text.</summary>
    public void Add(PortConfig port)
    {
        ArgumentNullException.ThrowIfNull(port);
        lock (_lock)
        {
            if (_endpoints.ContainsKey(port.Name) || Bridge.Snapshot.Find(port.Name) is not null)
            {
                throw new ArgumentException($"a port named '{port.Name}' already exists");
            }

            switch (port.Type)
            {
                case PortRules.TypeTap:
                    var tap = CapabilityBroker.Run(() => TapPort.Open(port.Interface!, port.Name, port.Offload, port.Queues));
                    AddToBridge(tap, port);
                    var origin = tap.Created ? "created; removed on exit" : tap.Persistent ? "attached, persistent; kept on exit" : "attached";
                    announce($"port {tap.Name} up: tap {tap.Interface} ({origin}{(tap.AcceptsOffloads ? ", offloads" : string.Empty)}{(tap.QueueCount > 1 ? $", {tap.QueueCount} queues" : string.Empty)})");
                    break;
                case PortRules.TypePacket:
                    var interfaceName = port.Interface!;
                    _endpoints.Add(port.Name, new PortSupervisor(
                        Bridge,
                        port.Name,
                        PortRules.TypePacket,
                        interfaceName,
                        $"interface {interfaceName} to exist",
                        port.Vlan,
                        port.Guard,
                        () => NetDevice.Exists(interfaceName) ? CapabilityBroker.Run(() => PacketSocketPort.Open(interfaceName, port.Name)) : null,
                        announce));
                    break;
                case PortRules.TypeQemuDgram:
                    var dgram = QemuDgramPort.Open(port.Name, port.Path!, port.Remote, port.Mode, port.Group);
                    AddToBridge(dgram, port);
                    announce($"port {dgram.Name} up: qemu-dgram {dgram.Interface}{(port.Remote is null ? " (answers the VM's address)" : $" (sends to {port.Remote})")}");
                    break;
                case PortRules.TypeVxlan or PortRules.TypeGeneve:
                    var overlay = OverlayPort.Open(port.Name, port.Overlay!);
                    AddToBridge(overlay, port);
                    var settings = port.Overlay!;
                    announce($"port {overlay.Name} up: {overlay.Type} vni {settings.VniText} on {overlay.Interface} to {string.Join(", ", settings.FloodTo)} (frames up to {settings.MaxFrameLength} bytes fit its mtu {settings.Mtu})");
                    break;
                case PortRules.TypeQemuStream when port.Role == PortRules.RoleConnect:
                    _endpoints.Add(port.Name, QemuStreamConnector.Start(Bridge, port.Name, port.Path!, port.Vlan, port.Guard, logger, announce));
                    announce($"port {port.Name}: qemu-stream connecting to QEMU at {port.Path}");
                    break;
                case PortRules.TypeQemuStream:
                    _endpoints.Add(port.Name, QemuStreamListener.Start(Bridge, port.Name, port.Path!, port.Multi, port.MaxConnections, port.Mode, port.Group, port.Vlan, port.Guard, logger, announce));
                    announce($"port {port.Name}: qemu-stream listening on {port.Path}{(port.Multi ? $" (one port per VM, at most {port.MaxConnections})" : string.Empty)}");
                    break;
                default:
                    throw new ArgumentException($"port type '{port.Type}' is not known; allowed: {string.Join(", ", PortRules.Types)}");
            }
        }
    }

    /// <summary>The socket files of the QEMU ports: the stream listeners' and the datagram ports'.</summary>
    public IReadOnlyList<CreatedFile> SocketFiles()
    {
        var files = new List<CreatedFile>();
        lock (_lock)
        {
            files.AddRange(_endpoints.Values.OfType<QemuStreamListener>().Select(listener => listener.File));
        }

        files.AddRange(Bridge.Snapshot.Ports.Select(slot => slot?.Port).OfType<QemuDgramPort>().Select(port => port.File));
        return files;
    }

    /// <summary>Removes a port, or a socket endpoint with every port it holds.</summary>
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

    private void AddToBridge(IPort port, PortConfig config)
    {
        try
        {
            Bridge.AddPort(port, isUp: true, config.Vlan, config.Guard);
        }
        catch
        {
            port.Dispose();
            throw;
        }
    }
}
