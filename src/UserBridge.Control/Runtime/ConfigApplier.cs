using UserBridge.Control.Config;
using UserBridge.Control.Management;
using UserBridge.Core.Events;
using UserBridge.Core.Observers;

namespace UserBridge.Control.Runtime;

/// <summary>
/// Brings a running switch from one configuration to another by applying only the difference: ports added, removed
/// or changed (a change of VLAN settings alone is applied in place on TAP and datagram ports, anything else re-opens
/// the port), mirrors and the always-on capture. Ports that did not change are not touched and keep forwarding. The
/// switch's start is the same step from an empty configuration; <c>reload</c> (or SIGHUP) is a later one.
/// </summary>
/// <remarks>
/// <para>A change is all or nothing. What can be checked without touching anything is checked first (settings only a
/// restart applies, duplicate names, mirrors and the capture naming ports that will exist). Then new ports are opened
/// before anything running is touched, so that the usual failure (a new port that cannot open) leaves the running
/// ports alone; then ports that go or change are closed and the changed ones re-opened, VLAN settings and guards are
/// changed in place, and mirrors and the capture follow. A new port that takes over the interface or socket of a port
/// that goes waits until that port is closed.</para>
/// <para>When a step fails, every step done is undone in reverse order (<see cref="ConfigTransaction"/>) and the
/// error goes to the caller: the switch runs what it ran before, and <see cref="Current"/> is unchanged. Should an
/// undo fail too (a port that cannot be re-opened as it was), <see cref="Current"/> becomes what actually runs and
/// the error says what was lost: the recorded configuration always equals what runs.</para>
/// </remarks>
public sealed class ConfigApplier(RunningSwitch ports, Action<string> announce)
{
    private readonly Lock _lock = new();
    private int? _captureId;

    /// <summary>The configuration the switch runs (empty until the first <see cref="Apply"/>).</summary>
    public SwitchConfig Current { get; private set; } = new() { Name = string.Empty };

    /// <summary>
    /// Applies <paramref name="next"/>, all or nothing. A switch-wide setting that only a restart can change is refused
    /// before anything is touched (<see cref="ManagementException"/>), so is a config that does not validate
    /// (<see cref="ConfigException"/>); a step that fails is undone with everything before it and its error rethrown, or
    /// an <see cref="IncompleteRollbackException"/> when undoing failed too. Returns what changed, in words.
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

            var errors = ConfigLoader.Validate(next, "configuration");
            if (errors.Count > 0)
            {
                throw new ConfigException(errors);
            }

            var transaction = new ConfigTransaction(current);
            List<string> changes;
            try
            {
                changes = Run(transaction, current, next, reportAdded: !first);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                var failed = transaction.RollBack();
                if (failed.Count == 0)
                {
                    throw;
                }

                Current = transaction.Running;
                throw new IncompleteRollbackException($"{ex.Message}; undoing the change failed too: {string.Join("; ", failed)}; the recorded config is what runs now", ex);
            }

            Current = next;
            foreach (var change in changes)
            {
                announce(change);
            }

            if (!first)
            {
                ports.Bridge.Events.Publish(BridgeEvent.ConfigApplied(changes.Count == 0 ? "nothing changed" : string.Join("; ", changes)));
            }

            return changes;
        }
    }

    /// <summary>
    /// The steps from <paramref name="current"/> to <paramref name="next"/>, each through <paramref name="transaction"/>
    /// so that it can be undone. The words it returns list removals, in-place changes and additions in the order of
    /// the configs, whatever order the steps ran in.
    /// </summary>
    private List<string> Run(ConfigTransaction transaction, SwitchConfig current, SwitchConfig next, bool reportAdded)
    {
        var plan = PortPlan.Between(current.Ports, next.Ports);
        var removedMirrors = current.Mirrors.Where(mirror => !next.Mirrors.Any(other => SameMirror(mirror, other))).ToList();
        var addedMirrors = next.Mirrors.Where(mirror => !current.Mirrors.Any(other => SameMirror(mirror, other))).ToList();
        var captureChanged = !SameCapture(current.Capture, next.Capture);

        foreach (var port in plan.OpenedFirst)
        {
            transaction.OpenPort(port, () => ports.Add(port), () => ports.Remove(port.Name));
        }

        foreach (var mirror in removedMirrors)
        {
            transaction.RemoveMirror(mirror, () => ports.Captures.RemoveMirror(mirror.Output), () => ports.Captures.AddMirror(mirror));
        }

        foreach (var port in plan.Closed)
        {
            transaction.ClosePort(port, () => ports.Remove(port.Name), () => ports.Add(port));
        }

        foreach (var port in plan.OpenedAfterClosing)
        {
            transaction.OpenPort(port, () => ports.Add(port), () => ports.Remove(port.Name));
        }

        foreach (var (had, wanted) in plan.ChangedInPlace)
        {
            ChangeInPlace(transaction, had, wanted);
        }

        foreach (var mirror in addedMirrors)
        {
            transaction.AddMirror(mirror, () => ports.Captures.AddMirror(mirror), () => ports.Captures.RemoveMirror(mirror.Output));
        }

        var (captureStopped, captureStarted) = captureChanged ? ReplaceCapture(transaction, current.Capture, next.Capture) : ([], []);
        return
        [
            .. removedMirrors.Select(mirror => $"mirror to {mirror.Output} removed"),
            .. captureStopped,
            .. plan.Words(reportAdded),
            .. addedMirrors.Select(mirror => $"mirror {string.Join(",", mirror.Sources)} ({ObserverDirections.Name(mirror.Direction)}) -> {mirror.Output}{(mirror.Vlan == 0 ? string.Empty : $" tagged vlan {mirror.Vlan}")}"),
            .. captureStarted,
        ];
    }

    /// <summary>A port's VLAN settings and guards, changed on the running port, each step with its way back.</summary>
    private void ChangeInPlace(ConfigTransaction transaction, PortConfig had, PortConfig wanted)
    {
        var bridge = ports.Bridge;
        if (!PortPlan.SameVlan(had.Vlan, wanted.Vlan))
        {
            transaction.ChangePort(had, had with { Vlan = wanted.Vlan }, () => bridge.SetPortVlan(had.Name, wanted.Vlan), () => bridge.SetPortVlan(had.Name, had.Vlan));
        }

        if (had.Guard != wanted.Guard)
        {
            transaction.ChangePort(had with { Vlan = wanted.Vlan }, wanted, () => bridge.SetPortGuard(had.Name, wanted.Guard), () => bridge.SetPortGuard(had.Name, had.Guard));
        }
    }

    /// <summary>
    /// Replaces the always-on capture; returns the words for the one stopped and the one started. A capture into another
    /// file starts before the old one stops, so that one that cannot start leaves the old one writing; one into the same
    /// file can only follow the old one, which the undo starts again.
    /// </summary>
    private (List<string> Stopped, List<string> Started) ReplaceCapture(ConfigTransaction transaction, CaptureConfig? before, CaptureConfig? after)
    {
        var (stopped, started) = (new List<string>(), new List<string>());
        int? startedId = null;
        var sameFile = before is not null && after is not null && Path.GetFullPath(before.File) == Path.GetFullPath(after.File);
        if (sameFile)
        {
            StopBefore();
        }

        if (after is not null)
        {
            transaction.StartCapture(
                after,
                () =>
                {
                    var session = ports.Captures.Start(after);
                    startedId = session.Id;
                    started.Add($"capture {session.Id}: {session.Description}");
                },
                () => ports.Captures.Stop(startedId!.Value));
        }

        if (!sameFile)
        {
            StopBefore();
        }

        _captureId = startedId;
        return (stopped, started);

        void StopBefore()
        {
            if (before is null || _captureId is not { } id)
            {
                return;
            }

            transaction.StopCapture(
                before,
                () =>
                {
                    ports.Captures.Stop(id);
                    _captureId = null;
                    stopped.Add($"capture {id} stopped");
                },
                () => _captureId = ports.Captures.Start(before).Id);
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

    private static bool SameMirror(MirrorConfig a, MirrorConfig b) =>
        a.Output == b.Output && a.Direction == b.Direction && a.Vlan == b.Vlan && a.Sources.SetEquals(b.Sources);

    private static bool SameCapture(CaptureConfig? a, CaptureConfig? b) =>
        ReferenceEquals(a, b)
        || (a is not null && b is not null && a with { Line = 0, Ports = null } == b with { Line = 0, Ports = null }
            && (a.Ports is null ? b.Ports is null : b.Ports is not null && a.Ports.SetEquals(b.Ports)));
}
