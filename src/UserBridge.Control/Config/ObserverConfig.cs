using UserBridge.Capture;
using UserBridge.Core.Observers;

namespace UserBridge.Control.Config;

/// <summary>
/// The always-on capture of the config file's <c>[capture]</c> table: the switch itself writes it, from start to
/// exit, rotating files by size.
/// </summary>
public sealed record CaptureConfig(string File, int Line = 0)
{
    public IReadOnlySet<string>? Ports { get; init; }

    public ObserverDirection Direction { get; init; } = ObserverDirection.Both;

    public string? Filter { get; init; }

    public int SnapLength { get; init; } = CaptureOptions.DefaultSnapLength;

    public bool IncludeDrops { get; init; }

    /// <summary>Start a new file when the current one reaches this size; 0: one file.</summary>
    public long RotateBytes { get; init; }

    /// <summary>With rotation, the most files kept (the oldest are deleted); 0: all.</summary>
    public int KeepFiles { get; init; }

    public CaptureOptions ToOptions() => new()
    {
        Ports = Ports,
        Direction = Direction,
        Filter = Filter,
        SnapLength = SnapLength,
        IncludeDrops = IncludeDrops,
    };
}

/// <summary>One <c>[[mirror]]</c>: copies of the sources' traffic go out of the output port (SPAN).</summary>
public sealed record MirrorConfig(IReadOnlySet<string> Sources, string Output, int Line = 0)
{
    public ObserverDirection Direction { get; init; } = ObserverDirection.Both;

    /// <summary>0: copies as they are; otherwise the VID of an 802.1Q tag pushed onto every copy.</summary>
    public int Vlan { get; init; }

    public MirrorObserver ToTap() => new(Output, Vlan) { Ports = Sources, Direction = Direction };
}
