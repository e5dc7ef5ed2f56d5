namespace UserBridge.Control;

/// <summary>
/// One log line per interval for a kind of event that a client can cause at will (a refused connection, a
/// failed accept): the first is logged at once, the rest of the interval only counted, and the next line says how many
/// were not logged (Open vSwitch's <c>VLOG_WARN_RL</c> in its simplest form). Used from one thread.
/// </summary>
internal sealed class LogThrottle(TimeSpan interval)
{
    private readonly long _intervalMs = (long)interval.TotalMilliseconds;
    private long _nextTimestamp;
    private long _suppressed;

    /// <summary>True when this event may be logged; <paramref name="suppressed"/> says how many before it were not.</summary>
    public bool TryLog(out long suppressed)
    {
        var now = Environment.TickCount64;
        if (now < _nextTimestamp)
        {
            _suppressed++;
            suppressed = 0;
            return false;
        }

        _nextTimestamp = now + _intervalMs;
        suppressed = _suppressed;
        _suppressed = 0;
        return true;
    }
}
