using Microsoft.Extensions.Time.Testing;
using UserBridge.Control.Runtime;
using UserBridge.Core.Ports;
using UserBridge.Core.Switching;
using UserBridge.Tests.Shared;

namespace UserBridge.Control.Tests;

public sealed class DropReporterTests : IDisposable
{
    private readonly Bridge _bridge = new(new BridgeOptions());
    private readonly FakeTimeProvider _time = new();
    private readonly ListLogger _log = new();

    public DropReporterTests()
    {
        _bridge.AddPort(new MemoryPort("p1"));
        _bridge.AddPort(new MemoryPort("p2"));
    }

    public void Dispose() => _bridge.Dispose();

    [Fact]
    public void DropsAreLoggedOncePerPeriodPerPortByReasonAndQuietPeriodsLogNothing()
    {
        using var reporter = new DropReporter(_bridge, _log, _time);
        var p1 = (MemoryPort)_bridge.Snapshot.Find("p1")!.Port;
        _bridge.Start();
        for (var i = 0; i < 50; i++)
        {
            p1.Inject(new byte[8]);
        }

        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (_bridge.Snapshot.Find("p1")!.Counters.TotalDrops < 50 && DateTime.UtcNow < deadline)
        {
            Thread.Sleep(5);
        }

        _time.Advance(DropReporter.Period);
        _time.Advance(DropReporter.Period);

        var line = Assert.Single(_log.Lines);
        Assert.Equal("Warning: port p1: dropped since the last report: too_short=50", line);
    }
}
