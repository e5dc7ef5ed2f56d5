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

    /// <summary>
    /// True when this event may be logged; <paramref name="notLogged"/> is then what to add to its line: how many like it
    /// were not logged since the last one ("" when none).
    /// </summary>
    public bool TryLog(out string notLogged)
    {
        notLogged = string.Empty;
        var now = Environment.TickCount64;
        if (now < _nextTimestamp)
        {
            _suppressed++;
            return false;
        }

        _nextTimestamp = now + _intervalMs;
        if (_suppressed > 0)
        {
            notLogged = $" ({_suppressed} more like it not logged since the last)";
            _suppressed = 0;
        }

        return true;
    }
}
