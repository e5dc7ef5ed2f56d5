namespace UserBridge.Core;

/// <summary>Switch-wide settings.</summary>
public sealed record BridgeOptions
{
    public const string DefaultName = "ub0";

    public string Name { get; init; } = DefaultName;

    public TimeSpan AgingTime { get; init; } = MacTable.DefaultAgingTime;

    public int MacTableSize { get; init; } = MacTable.DefaultCapacity;
}
