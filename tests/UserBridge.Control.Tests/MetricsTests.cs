using System.Diagnostics.Metrics;
using UserBridge.Control.Metrics;
using UserBridge.Core.Frames;
using UserBridge.Core.Ports;
using UserBridge.Core.Switching;

namespace UserBridge.Control.Tests;

/// <summary>The <c>UserBridge</c> meter, read as dotnet-counters or an exporter reads it: through a <see cref="MeterListener"/>.</summary>
public sealed class MetricsTests : IDisposable
{
    private readonly Bridge _bridge = new(new BridgeOptions { Name = "metered" });
    private readonly SwitchMetrics _metrics;

    public MetricsTests()
    {
        _bridge.AddPort(new MemoryPort("p1"));
        _bridge.AddPort(new MemoryPort("p2"));
        _metrics = new SwitchMetrics(_bridge);
    }

    public void Dispose()
    {
        _metrics.Dispose();
        _bridge.Dispose();
    }

    [Fact]
    public void PortAndMacTableCountersAreMeasuredPerPortWithTheirTags()
    {
        var (p1, p2) = ((MemoryPort)_bridge.Snapshot.Find("p1")!.Port, (MemoryPort)_bridge.Snapshot.Find("p2")!.Port);
        _bridge.Start();
        p1.Inject(TestFrames.Ethernet(MacAddress.Broadcast, MacAddress.Parse("02:00:00:00:00:01"), 64));
        p1.Inject(new byte[10]);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while ((p2.SentCount < 1 || _bridge.Snapshot.Find("p1")!.Counters.TotalDrops < 1) && DateTime.UtcNow < deadline)
        {
            Thread.Sleep(5);
        }

        _bridge.SetPortUp("p2", isUp: false);

        var measured = Measure();

        Assert.Equal(2, measured[("userbridge.port.received.frames", "port=p1")]);
        Assert.Equal(74, measured[("userbridge.port.received.bytes", "port=p1")]);
        Assert.Equal(0, measured[("userbridge.port.received.frames", "port=p2")]);
        Assert.Equal(1, measured[("userbridge.port.sent.frames", "port=p2")]);
        Assert.Equal(1, measured[("userbridge.port.floods", "port=p1")]);
        Assert.Equal(1, measured[("userbridge.port.drops", "port=p1,reason=too_short")]);
        Assert.Equal(0, measured[("userbridge.port.drops", "port=p2,reason=too_short")]);
        Assert.Equal(1, measured[("userbridge.port.up", "port=p1")]);
        Assert.Equal(0, measured[("userbridge.port.up", "port=p2")]);
        Assert.Equal(1, measured[("userbridge.mac_table.learned", string.Empty)]);
        Assert.Equal(1, measured[("userbridge.mac_table.entries", string.Empty)]);
        Assert.Equal(0, measured[("userbridge.mac_table.evicted", string.Empty)]);
    }

    [Fact]
    public void TheMeterIsNamedUserBridgeAndTaggedWithTheSwitchName()
    {
        Meter? meter = null;
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, _) => meter ??= instrument.Meter.Name == SwitchMetrics.MeterName ? instrument.Meter : null,
        };
        listener.Start();

        Assert.NotNull(meter);
        Assert.Contains(meter.Tags ?? [], tag => tag.Key == "switch" && (string?)tag.Value == "metered");
    }

    /// <summary>Every measurement of the meter, by instrument name and its tags as "k=v,k=v".</summary>
    private Dictionary<(string, string), long> Measure()
    {
        var measured = new Dictionary<(string, string), long>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == SwitchMetrics.MeterName && instrument.Meter.Tags?.Any(tag => (string?)tag.Value == "metered") == true)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
            measured[(instrument.Name, string.Join(',', tags.ToArray().Select(tag => $"{tag.Key}={tag.Value}")))] = value);
        listener.Start();
        listener.RecordObservableInstruments();
        return measured;
    }
}
