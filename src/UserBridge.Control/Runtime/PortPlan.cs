using UserBridge.Control.Config;
using UserBridge.Core.Ports;
using UserBridge.Linux.Ports;


namespace UserBridge.Control.Runtime;

/// <summary>
/// What a change of configuration does to the ports, worked out before anything is touched: which ports open first
/// (new names on interfaces and sockets no closing port holds), which close (gone, or changed in a way only a re-open
/// applies), which open once those are closed (changed ones, and new ones taking over a closing port's interface or
/// socket), and which change in place (VLAN settings and guards).
/// </summary>
internal sealed class PortPlan
{
    private readonly List<string> _removed = [];
    private readonly List<(PortConfig Port, bool Added, bool VlanChanged, bool GuardChanged)> _next = [];

    private PortPlan()
    {
    }

    public List<PortConfig> OpenedFirst { get; } = [];

    public List<PortConfig> Closed { get; } = [];

    public List<PortConfig> OpenedAfterClosing { get; } = [];

    public List<(PortConfig Had, PortConfig Wanted)> ChangedInPlace { get; } = [];

    public static PortPlan Between(IReadOnlyList<PortConfig> currentList, IReadOnlyList<PortConfig> nextList)
    {
        var plan = new PortPlan();
        var current = currentList.ToDictionary(port => port.Name, StringComparer.Ordinal);
        var next = nextList.ToDictionary(port => port.Name, StringComparer.Ordinal);
        foreach (var port in currentList.Where(port => !next.TryGetValue(port.Name, out var wanted) || !SameExceptVlan(port, wanted)))
        {
            plan.Closed.Add(port);
            plan._removed.Add($"port {port.Name} removed{(next.ContainsKey(port.Name) ? " to be re-opened" : string.Empty)}");
        }

        // An overlay port's endpoint is empty: a new one waits for every closing overlay port, as its UDP port may be theirs.
        var closingEndpoints = plan.Closed.Select(port => port.Endpoint).ToHashSet(StringComparer.Ordinal);
        foreach (var port in nextList)
        {
            if (current.TryGetValue(port.Name, out var had) && SameExceptVlan(had, port))
            {
                var (vlanChanged, guardChanged) = (!SameVlan(had.Vlan, port.Vlan), had.Guard != port.Guard);
                if (vlanChanged || guardChanged)
                {
                    plan.ChangedInPlace.Add((had, port));
                }

                plan._next.Add((port, false, vlanChanged, guardChanged));
                continue;
            }

            (had is null && !closingEndpoints.Contains(port.Endpoint) ? plan.OpenedFirst : plan.OpenedAfterClosing).Add(port);
            plan._next.Add((port, true, false, false));
        }

        return plan;
    }

    /// <summary>
    /// The changes in words, in the order of the configs (removals, then each port of the new config), whatever order
    /// the steps ran in. The ports opened at start announce themselves (<paramref name="reportAdded"/> false).
    /// </summary>
    public IEnumerable<string> Words(bool reportAdded)
    {
        foreach (var removed in _removed)
        {
            yield return removed;
        }

        foreach (var (port, added, vlanChanged, guardChanged) in _next)
        {
            if (added && reportAdded)
            {
                yield return $"port {port.Name} added: {port.Type.Name} {port.Endpoint}";
            }

            if (vlanChanged)
            {
                yield return $"port {port.Name}: VLAN settings changed";
            }

            if (guardChanged)
            {
                yield return $"port {port.Name}: guards changed";
            }
        }
    }

    public static bool SameVlan(PortVlan? a, PortVlan? b) =>
        ReferenceEquals(a, b)
        || (a is not null && b is not null && a.Mode == b.Mode && a.Vlan == b.Vlan && a.Native == b.Native && a.Tpid == b.Tpid && a.Vlans().SequenceEqual(b.Vlans()));

    /// <summary>
    /// Everything but the line it was declared on, its guards and its VLAN settings, which change in place on a port its
    /// type added itself (<see cref="IPortType.VlanChangesInPlace"/>). A packet or QEMU stream port is kept by a supervisor
    /// or listener that re-attaches it with the VLAN settings it was opened with: a VLAN change re-opens it. A supervisor re-attaches with the port's current guards,
    /// but a stream listener gives each new connection the guards it was started with: a guard change re-opens it too.
    /// </summary>
    private static bool SameExceptVlan(PortConfig a, PortConfig b) =>
        a with { Line = 0, Vlan = null, Guard = PortGuard.None } == b with { Line = 0, Vlan = null, Guard = PortGuard.None }
        && (a.Type.VlanChangesInPlace || SameVlan(a.Vlan, b.Vlan))
        && (!a.Settings.ExistsOnlyWhileConnected || a.Guard == b.Guard);
}
