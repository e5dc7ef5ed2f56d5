using UserBridge.Core.Frames;

namespace UserBridge.Core.Ports;

/// <summary>
/// A port that reaches stations through several remote endpoints (an overlay port's VTEPs): it can say which one a
/// station the switch learned on it is behind, for <c>fdb show</c>.
/// </summary>
public interface ITunnelPort : IPort
{
    /// <summary>The remote that <paramref name="mac"/> in the switch's VLAN <paramref name="vlan"/> was last seen behind; null if unknown.</summary>
    string? RemoteOf(MacAddress mac, int vlan);

    /// <summary>
    /// Pins <paramref name="mac"/> in the switch's VLAN <paramref name="vlan"/> behind <paramref name="remote"/> (a static
    /// entry: learning never moves it, aging never removes it); null on success, else why not, for the operator.
    /// </summary>
    string? AddStaticRemote(MacAddress mac, int vlan, string remote);

    /// <summary>Forgets what the port knows of <paramref name="mac"/> in <paramref name="vlan"/>, static or learned.</summary>
    void RemoveRemote(MacAddress mac, int vlan);
}
