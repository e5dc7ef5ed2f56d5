using UserBridge.Core.Ports;
using UserBridge.Core.Switching;

namespace UserBridge.Core.Observers;

/// <summary>
/// Something that takes copies of the traffic of some ports: a capture (into its ring) or a mirror (to an output
/// port). Observers are attached with <see cref="Bridge.AddObserver"/>; the workers call <see cref="Observe"/> for every copy
/// that matches the tap's ports and direction, so it must be quick, must not block, must not allocate and must not
/// throw.
/// </summary>
public abstract class FrameObserver
{
    /// <summary>The ports whose traffic the tap takes; null: every port, including ports added later.</summary>
    public IReadOnlySet<string>? Ports { get; init; }

    public ObserverDirection Direction { get; init; } = ObserverDirection.Both;

    /// <summary>True: frames the switch dropped are offered too (as ingress copies, with the drop reason).</summary>
    public bool IncludeDrops { get; init; }

    /// <summary>True when the tap takes copies of <paramref name="port"/>'s traffic.</summary>
    public bool Selects(PortSlot port)
    {
        ArgumentNullException.ThrowIfNull(port);
        return Ports is null || Ports.Contains(port.Name);
    }

    /// <summary>Takes one copy. Called on worker threads, concurrently.</summary>
    public abstract void Observe(in ObservedFrame copy);

    /// <summary>Called by the control plane with the ports of each snapshot before it is published.</summary>
    protected internal virtual void Bind(PortSlot?[] ports)
    {
    }
}
