using Microsoft.Extensions.Logging;
using UserBridge.Core.Forwarding;
using UserBridge.Core.Ports;
using UserBridge.Core.Switching;

namespace UserBridge.Control.Runtime;

/// <summary>
/// The data path's logging, rate-limited: workers never log per frame (a flood of bad frames would become a flood of
/// log lines); they count. This reads the counters every <see cref="Period"/> and logs, per port, one warning line with
/// what was dropped or failed to send since the last one, by reason, and nothing while all is well.
/// </summary>
public sealed partial class DropReporter : IDisposable
{
    public static readonly TimeSpan Period = TimeSpan.FromSeconds(10);

    private static readonly string[] Names = [.. DropReasons.All.Select(DropReasons.Name), "send_errors", "capture_drops", "mac_limit_unlearned"];

    private readonly Bridge _bridge;
    private readonly ILogger _logger;
    private readonly ITimer _timer;
    private readonly Dictionary<PortCounters, long[]> _last = [];
    private readonly Lock _lock = new();

    public DropReporter(Bridge bridge, ILogger logger, TimeProvider? time = null, TimeSpan? period = null)
    {
        _bridge = bridge;
        _logger = logger;
        foreach (var slot in bridge.Snapshot.Ports)
        {
            if (slot is not null)
            {
                _last[slot.Counters] = Read(slot.Counters);
            }
        }

        var every = period ?? Period;
        _timer = (time ?? TimeProvider.System).CreateTimer(static state => ((DropReporter)state!).Report(), this, every, every);
    }

    public void Dispose() => _timer.Dispose();

    /// <summary>Logs what each port dropped since the last report (the timer calls this).</summary>
    public void Report()
    {
        lock (_lock)
        {
            var seen = new HashSet<PortCounters>();
            foreach (var slot in _bridge.Snapshot.Ports)
            {
                if (slot is null)
                {
                    continue;
                }

                seen.Add(slot.Counters);
                var now = Read(slot.Counters);
                var before = _last.TryGetValue(slot.Counters, out var last) ? last : new long[now.Length];
                _last[slot.Counters] = now;
                var parts = new List<string>();
                for (var i = 0; i < now.Length; i++)
                {
                    if (now[i] > before[i])
                    {
                        parts.Add($"{Names[i]}={now[i] - before[i]}");
                    }
                }

                if (parts.Count > 0)
                {
                    LogDrops(_logger, slot.Name, string.Join(", ", parts));
                }
            }

            foreach (var gone in _last.Keys.Where(counters => !seen.Contains(counters)).ToList())
            {
                _last.Remove(gone);
            }
        }
    }

    private static long[] Read(PortCounters counters) =>
        [.. DropReasons.All.Select(counters.Drops), counters.TxErrors, counters.CaptureDrops, counters.MacLimitUnlearned];

    [LoggerMessage(EventId = 200, Level = LogLevel.Warning, Message = "port {Port}: dropped since the last report: {Drops}")]
    private static partial void LogDrops(ILogger logger, string port, string drops);
}
