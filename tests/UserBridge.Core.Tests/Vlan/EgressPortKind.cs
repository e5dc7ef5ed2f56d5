namespace UserBridge.Core.Tests.Vlan;

/// <summary>The ports a frame of the matrix may leave by (see <see cref="VlanMatrix.EgressRuleOf"/>).</summary>
public enum EgressPortKind
{
    /// <summary><c>mode = "access"</c>, <c>vlan = 10</c>.</summary>
    Access10,

    /// <summary><c>mode = "access"</c>, <c>vlan = 100</c>.</summary>
    Access100,

    /// <summary><c>mode = "trunk"</c>, <c>allowed = "10,20"</c>, no native VLAN.</summary>
    Trunk10And20,

    /// <summary><c>mode = "trunk"</c>, <c>allowed = "10,20"</c>, <c>native = 10</c>.</summary>
    Trunk10And20Native10,

    /// <summary><c>mode = "dot1q-tunnel"</c>, <c>vlan = 100</c>.</summary>
    Tunnel100,

    /// <summary><c>mode = "trunk"</c>, <c>tpid = 0x88a8</c>, <c>allowed = "100"</c>.</summary>
    Dot1adTrunk100,
}
