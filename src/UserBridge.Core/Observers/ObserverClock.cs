using System.Diagnostics;

namespace UserBridge.Core.Observers;

/// <summary>
/// Wall-clock nanoseconds since the Unix epoch, read from the monotonic high-resolution counter: one reading of
/// the wall clock when the process starts, then counter ticks, so a copy costs no system call and no step of the
/// wall clock reorders a capture.
/// </summary>
public static class ObserverClock
{
    private static readonly long s_epochNs = (DateTime.UtcNow - DateTime.UnixEpoch).Ticks * 100;
    private static readonly long s_start = Stopwatch.GetTimestamp();
    private static readonly double s_nsPerTick = 1e9 / Stopwatch.Frequency;

    public static long NowNs() => s_epochNs + (long)((Stopwatch.GetTimestamp() - s_start) * s_nsPerTick);
}
