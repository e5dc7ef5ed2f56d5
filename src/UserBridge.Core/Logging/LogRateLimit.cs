
namespace UserBridge.Core.Logging;

/// <summary>
/// A token bucket for log lines, after Open vSwitch's <c>VLOG_RATE_LIMIT</c>: up to <see cref="Burst"/> lines pass at
/// once, then one per <see cref="Interval"/>; the lines held back are counted, and the next line that passes says how
/// many. One instance per kind of line, so that a peer that connects and leaves two thousand times a second cannot fill
/// the journal, while a line of another kind still gets through.
/// </summary>
/// <remarks>Control-plane and cold paths only: it takes a lock.</remarks>
public sealed class LogRateLimit
{
    /// <summary>The usual limit: 20 lines at once, then one a second.</summary>
    public const int DefaultBurst = 20;

    private readonly Lock _lock = new();
    private readonly TimeProvider _time;
    private double _tokens;
    private long _refilledAt;
    private long _suppressed;

    public LogRateLimit(int burst = DefaultBurst, TimeSpan? interval = null, TimeProvider? time = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(burst, 1);
        Burst = burst;
        Interval = interval ?? TimeSpan.FromSeconds(1);
        _time = time ?? TimeProvider.System;
        _tokens = burst;
        _refilledAt = _time.GetTimestamp();
    }

    public int Burst { get; }

    public TimeSpan Interval { get; }

    /// <summary>How many lines were held back since the switch started.</summary>
    public long TotalSuppressed { get; private set; }

    /// <summary>
    /// Whether a line may be written now; if so, <paramref name="suppressed"/> is what to append to it: empty, or how
    /// many lines were held back since the last one passed ("(12 similar lines suppressed)").
    /// </summary>
    public bool TryPass(out string suppressed)
    {
        lock (_lock)
        {
            var now = _time.GetTimestamp();
            _tokens = Math.Min(Burst, _tokens + (_time.GetElapsedTime(_refilledAt, now) / Interval));
            _refilledAt = now;
            if (_tokens < 1)
            {
                _suppressed++;
                TotalSuppressed++;
                suppressed = string.Empty;
                return false;
            }

            _tokens--;
            suppressed = _suppressed == 0 ? string.Empty : $" ({_suppressed} similar line{(_suppressed == 1 ? string.Empty : "s")} suppressed)";
            _suppressed = 0;
            return true;
        }
    }

    /// <summary>Writes <paramref name="line"/> through <paramref name="write"/> if the limit lets it pass.</summary>
    public void Write(string line, Action<string> write)
    {
        ArgumentNullException.ThrowIfNull(write);
        if (TryPass(out var suppressed))
        {
            write(line + suppressed);
        }
    }
}
