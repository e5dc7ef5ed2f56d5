namespace UserBridge.Core;

/// <summary>Switch-wide settings.</summary>
public sealed record BridgeOptions
{
    public const string DefaultName = "ub0";

    public string Name { get; init; } = DefaultName;

    public TimeSpan AgingTime { get; init; } = MacTable.DefaultAgingTime;

    public int MacTableSize { get; init; } = MacTable.DefaultCapacity;

    /// <summary>VLAN-aware even when no port has VLAN settings (every port is then an access port of VLAN 1).</summary>
    public bool VlanFiltering { get; init; }

    /// <summary>
    /// Called on each port worker's thread before it reads its first frame (the host pins the thread to the
    /// configured CPUs there); null: nothing.
    /// </summary>
    public Action? WorkerStarting { get; init; }
}
