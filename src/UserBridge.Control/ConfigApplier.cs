using UserBridge.Core;
using UserBridge.Core.Events;
using UserBridge.Core.Taps;

namespace UserBridge.Control;

/// <summary>
/// Brings a running switch from one configuration to another by applying only the difference: ports added, removed
/// or changed (a change of VLAN settings alone is applied in place on TAP and datagram ports, anything else re-opens
/// the port), mirrors and the
/// always-on capture. Ports that did not change are not touched and keep forwarding. The switch's start is the same
/// step from an empty configuration; <c>reload</c> (or SIGHUP) is a later one.
/// </summary>
public sealed class ConfigApplier(PortManager ports, Action<string> announce)
{
    private readonly Lock _lock = new();
    private int? _captureId;

    /// <summary>The configuration the switch runs (empty until the first <see cref="Apply"/>).</summary>
    public SwitchConfig Current { get; private set; } = new() { Name = string.Empty };

    /// <summary>
    /// Applies <paramref name="next"/>. A switch-wide setting that only a restart can change is refused before anything
    /// is touched (<see cref="ManagementException"/>). Returns what changed, in words.
    /// </summary>
    public IReadOnlyList<string> Apply(SwitchConfig next)
    {
        ArgumentNullException.ThrowIfNull(next);
        lock (_lock)
        {
            var current = Current;
            var first = current.Name.Length == 0;
            if (!first)
            {
                RefuseRestartOnlyChanges(current, next);
            }

            var changes = new List<string>();
            var removedMirrors = current.Mirrors.Where(mirror => !next.Mirrors.Any(other => SameMirror(mirror, other))).ToList();
            var addedMirrors = next.Mirrors.Where(mirror => !current.Mirrors.Any(other => SameMirror(mirror, other))).ToList();
            var captureChanged = !SameCapture(current.Capture, next.Capture);

            // What depends on ports goes first and comes back last, so that a mirror or the capture never names a
            // port that is being re-opened.
            foreach (var mirror in removedMirrors)
            {
                ports.Captures.RemoveMirror(mirror.Output);
                changes.Add($"mirror to {mirror.Output} removed");
            }

            if (captureChanged && _captureId is { } id)
            {
                ports.Captures.Stop(id);
                _captureId = null;
                changes.Add($"capture {id} stopped");
            }

            ApplyPorts(current.Ports, next.Ports, reportAdded: !first, changes);
            foreach (var mirror in addedMirrors)
            {
                ports.Captures.AddMirror(mirror);
                changes.Add($"mirror {string.Join(",", mirror.Sources)} ({TapDirections.Name(mirror.Direction)}) -> {mirror.Output}{(mirror.Vlan == 0 ? string.Empty : $" tagged vlan {mirror.Vlan}")}");
            }

            if (captureChanged && next.Capture is { } capture)
            {
                var session = ports.Captures.Start(capture);
                _captureId = session.Id;
                changes.Add($"capture {session.Id}: {session.Description}");
            }

            Current = next;
            changes.ForEach(announce);
            if (!first)
            {
                ports.Bridge.Events.Publish(BridgeEvent.ConfigApplied(changes.Count == 0 ? "nothing changed" : string.Join("; ", changes)));
            }

            return changes;
        }
    }

    /// <summary>
    /// Closes the ports that went or changed, then opens the new and changed ones; a change of VLAN settings alone is
    /// applied in place. The ports opened at start announce themselves (<paramref name="reportAdded"/> false).
    /// </summary>
    private void ApplyPorts(IReadOnlyList<PortConfig> currentList, IReadOnlyList<PortConfig> nextList, bool reportAdded, List<string> changes)
    {
        var current = currentList.ToDictionary(port => port.Name, StringComparer.Ordinal);
        var next = nextList.ToDictionary(port => port.Name, StringComparer.Ordinal);
        foreach (var (name, port) in current)
        {
            if (!next.TryGetValue(name, out var wanted) || !SameExceptVlan(port, wanted))
            {
                ports.Remove(name);
                changes.Add($"port {name} removed{(next.ContainsKey(name) ? " to be re-opened" : string.Empty)}");
            }
        }

        foreach (var (name, port) in next)
        {
            if (!current.TryGetValue(name, out var had) || !SameExceptVlan(had, port))
            {
                ports.Add(port);
                if (reportAdded)
                {
                    changes.Add($"port {name} added: {port.Type} {port.Endpoint}");
                }
            }
            else
            {
                if (!SameVlan(had.Vlan, port.Vlan))
                {
                    ports.Bridge.SetPortVlan(name, port.Vlan);
                    changes.Add($"port {name}: VLAN settings changed");
                }

                if (had.Guard != port.Guard)
                {
                    ports.Bridge.SetPortGuard(name, port.Guard);
                    changes.Add($"port {name}: guards changed");
                }
            }
        }
    }

    /// <summary>Settings the running switch cannot change: its name and socket, its threads, its table, its metrics endpoint.</summary>
    private static void RefuseRestartOnlyChanges(SwitchConfig current, SwitchConfig next)
    {
        var changed = new List<string>();
        Check("name", current.Name, next.Name);
        Check("control", current.ControlPath, next.ControlPath);
        Check("aging", current.Aging, next.Aging);
        Check("mac_table_size", current.MacTableSize, next.MacTableSize);
        Check("vlan_filtering", current.VlanFiltering, next.VlanFiltering);
        Check("forward_link_local", current.ForwardLinkLocal, next.ForwardLinkLocal);
        Check("user", current.User, next.User);
        Check("group", current.Group, next.Group);
        Check("runtime_changes", current.RuntimeChanges, next.RuntimeChanges);
        Check("runtime_ports", current.RuntimePorts.ToString(), next.RuntimePorts.ToString());
        Check("max_clients", current.MaxClients, next.MaxClients);
        Check("max_clients_per_user", current.MaxClientsPerUser, next.MaxClientsPerUser);
        Check("pollers", current.Pollers, next.Pollers);
        Check("cpus", current.Cpus is null ? "any" : string.Join(',', current.Cpus), next.Cpus is null ? "any" : string.Join(',', next.Cpus));
        Check("metrics", current.Metrics?.ToString(), next.Metrics?.ToString());
        if (changed.Count > 0)
        {
            throw new ManagementException($"{string.Join(", ", changed)} changed: only a restart applies {(changed.Count == 1 ? "it" : "them")}; nothing was applied (undo the change to reload the rest)");
        }

        void Check<T>(string key, T before, T after)
        {
            if (!EqualityComparer<T>.Default.Equals(before, after))
            {
                changed.Add(key);
            }
        }
    }

    /// <summary>
    /// Everything but the line it was declared on, its guards (which change in place on any port) and its VLAN settings,
    /// which change in place on a TAP or datagram port. A packet or QEMU stream port is kept by a supervisor or listener
    /// that re-attaches it with the VLAN settings it was opened with: a VLAN change re-opens it.
    /// </summary>
    private static bool SameExceptVlan(PortConfig a, PortConfig b) =>
        a with { Line = 0, Vlan = null, Guard = PortGuard.None } == b with { Line = 0, Vlan = null, Guard = PortGuard.None }
        && (a.Type is PortRules.TypeTap or PortRules.TypeQemuDgram || SameVlan(a.Vlan, b.Vlan));

    private static bool SameVlan(PortVlan? a, PortVlan? b) =>
        ReferenceEquals(a, b)
        || (a is not null && b is not null && a.Mode == b.Mode && a.Vlan == b.Vlan && a.Native == b.Native && a.Tpid == b.Tpid && a.Vlans().SequenceEqual(b.Vlans()));

    private static bool SameMirror(MirrorConfig a, MirrorConfig b) =>
        a.Output == b.Output && a.Direction == b.Direction && a.Vlan == b.Vlan && a.Sources.SetEquals(b.Sources);

    private static bool SameCapture(CaptureConfig? a, CaptureConfig? b) =>
        ReferenceEquals(a, b)
        || (a is not null && b is not null && a with { Line = 0, Ports = null } == b with { Line = 0, Ports = null }
            && (a.Ports is null ? b.Ports is null : b.Ports is not null && a.Ports.SetEquals(b.Ports)));
}
