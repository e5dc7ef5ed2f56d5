using UserBridge.Core.Observers;

namespace UserBridge.Capture;

/// <summary>What a capture takes: which ports, which way, which frames, how much of each, and when it ends.</summary>
public sealed record CaptureOptions
{
    /// <summary>tcpdump's default: whole frames, 64 KiB GSO frames included.</summary>
    public const int DefaultSnapLength = 262144;

    public const int DefaultRingCapacity = 1024;

    /// <summary>The ports to capture; null: all of them, including ports added during the capture.</summary>
    public IReadOnlySet<string>? Ports { get; init; }

    public ObserverDirection Direction { get; init; } = ObserverDirection.Both;

    /// <summary>A BPF expression (tcpdump syntax) every copy must match; null: every copy.</summary>
    public string? Filter { get; init; }

    /// <summary>Bytes kept of each frame (the rest is counted in the original length only).</summary>
    public int SnapLength { get; init; } = DefaultSnapLength;

    /// <summary>True: frames the switch dropped are captured too, with the drop reason as their comment.</summary>
    public bool IncludeDrops { get; init; }

    /// <summary>The capture ends after this many packets (copies) are written; 0: no limit.</summary>
    public long MaxPackets { get; init; }

    /// <summary>The capture ends after this long; null: no limit.</summary>
    public TimeSpan? Duration { get; init; }

    /// <summary>Copies the ring holds between the workers and the writer; more are dropped and counted.</summary>
    public int RingCapacity { get; init; } = DefaultRingCapacity;

    /// <summary>One line describing the selection, for <c>capture list</c> and logs.</summary>
    public string Describe() =>
        $"ports {(Ports is null ? "all" : string.Join(",", Ports.Order(StringComparer.Ordinal)))}, {ObserverDirections.Name(Direction)}"
        + (Filter is null ? string.Empty : $", filter \"{Filter}\"")
        + (IncludeDrops ? ", with drops" : string.Empty);
}
