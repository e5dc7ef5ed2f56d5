using UserBridge.Core;

namespace UserBridge.Control;

/// <summary>The switch's configuration: what the TOML file and the <c>run</c> flags describe.</summary>
public sealed record SwitchConfig
{
    public string Name { get; init; } = BridgeOptions.DefaultName;

    public TimeSpan Aging { get; init; } = MacTable.DefaultAgingTime;

    public int MacTableSize { get; init; } = MacTable.DefaultCapacity;

    /// <summary>The management socket; null means <see cref="DefaultControlPath"/> of <see cref="Name"/>.</summary>
    public string? Control { get; init; }

    public IReadOnlyList<PortConfig> Ports { get; init; } = [];

    public string ControlPath => Control ?? DefaultControlPath(Name);

    public static string DefaultControlPath(string name) => $"/run/userbridge/{name}.sock";

    public BridgeOptions ToBridgeOptions() => new() { Name = Name, AgingTime = Aging, MacTableSize = MacTableSize };
}

/// <summary>One <c>[[port]]</c>. <see cref="Line"/> is where it was declared (0 when it came from a flag).</summary>
public sealed record PortConfig(string Name, string Type, string Interface, int Line = 0);
