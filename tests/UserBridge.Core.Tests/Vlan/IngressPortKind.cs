namespace UserBridge.Core.Tests.Vlan;

/// <summary>The ports a frame of the matrix enters by (see <see cref="VlanMatrix.SettingsOf(IngressPortKind)"/>).</summary>
public enum IngressPortKind
{
    /// <summary><c>mode = "access"</c>, <c>vlan = 10</c>.</summary>
    Access10,

    /// <summary><c>mode = "trunk"</c>, <c>allowed = "10,20"</c>, no native VLAN.</summary>
    Trunk10And20,

    /// <summary><c>mode = "trunk"</c>, <c>allowed = "1,10,20"</c>, <c>native = 1</c>.</summary>
    Trunk1And10And20Native1,

    /// <summary><c>mode = "trunk"</c>, <c>tpid = 0x88a8</c>, <c>allowed = "100"</c>.</summary>
    Dot1adTrunk100,

    /// <summary><c>mode = "dot1q-tunnel"</c>, <c>vlan = 100</c>.</summary>
    Tunnel100,
}
