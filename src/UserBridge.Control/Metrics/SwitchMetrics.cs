using System.Diagnostics.Metrics;
using UserBridge.Control.Management;
using UserBridge.Core.Forwarding;
using UserBridge.Core.Ports;
using UserBridge.Core.Switching;

namespace UserBridge.Control.Metrics;

/// <summary>
/// The <c>UserBridge</c> meter (System.Diagnostics.Metrics): every port's counters and the MAC table's, as observable
/// instruments read from the counters the workers already keep, so metrics cost the data path nothing. Watch them
/// with <c>dotnet-counters monitor -n userbridge --counters UserBridge</c>, or serve them to Prometheus
/// (<see cref="PrometheusEndpoint"/>).
/// </summary>
public sealed class SwitchMetrics : IDisposable
{
    public const string MeterName = "UserBridge";

    private readonly Meter _meter;
    private readonly Bridge _bridge;

    public SwitchMetrics(Bridge bridge)
    {
        ArgumentNullException.ThrowIfNull(bridge);
        _bridge = bridge;
        _meter = new Meter(MeterName, ManagementVerbs.Version, [new("switch", bridge.Options.Name)]);
        PortCounter("userbridge.port.received.frames", "{frame}", "frames received on the port", counters => counters.RxFrames);
        PortCounter("userbridge.port.received.bytes", "By", "bytes received on the port", counters => counters.RxBytes);
        PortCounter("userbridge.port.sent.frames", "{frame}", "frames sent out of the port", counters => counters.TxFrames);
        PortCounter("userbridge.port.sent.bytes", "By", "bytes sent out of the port", counters => counters.TxBytes);
        PortCounter("userbridge.port.send.errors", "{frame}", "frames the port failed to send", counters => counters.TxErrors);
        PortCounter("userbridge.port.floods", "{frame}", "frames received on the port and flooded", counters => counters.Floods);
        PortCounter("userbridge.port.capture.drops", "{frame}", "copies a capture could not take (its ring was full)", counters => counters.CaptureDrops);
        _meter.CreateObservableCounter("userbridge.port.drops", ObserveDrops, "{frame}", "frames received on the port and dropped, by reason");
        _meter.CreateObservableGauge("userbridge.port.up", () => Ports(slot => slot.IsUp ? 1L : 0L), description: "1 while the port is up");
        _meter.CreateObservableGauge("userbridge.mac_table.entries", () => (long)bridge.MacTable.Count, "{entry}", "entries in the MAC table");
        _meter.CreateObservableCounter("userbridge.mac_table.learned", () => bridge.MacTable.LearnedCount, "{entry}", "(VLAN, MAC) entries learned");
        _meter.CreateObservableCounter("userbridge.mac_table.moved", () => bridge.MacTable.MovedCount, "{entry}", "station moves");
        _meter.CreateObservableCounter("userbridge.mac_table.aged", () => bridge.MacTable.AgedCount, "{entry}", "entries aged out");
        _meter.CreateObservableCounter("userbridge.mac_table.evicted", () => bridge.MacTable.EvictedCount, "{entry}", "entries evicted for room");
        _meter.CreateObservableCounter("userbridge.port.failures", () => PortFailures.All.Select(failure => new Measurement<long>(bridge.Failures(failure), new KeyValuePair<string, object?>("reason", PortFailures.Name(failure)))), "{port}", "ports that stopped (a connection closed or cut, bad stream framing, an I/O error, repeated worker crashes), by reason");
        _meter.CreateObservableCounter("userbridge.port.refusals", () => PortRefusals.All.Select(refusal => new Measurement<long>(bridge.Refusals(refusal), new KeyValuePair<string, object?>("reason", PortRefusals.Name(refusal)))), "{connection}", "connections that could not become a port (a socket's max_connections, a second VM on a socket without multi, a full switch, a name taken), by reason");
        _meter.CreateObservableCounter("userbridge.mac_table.learn_failures", () => bridge.MacTable.LearnFailureCount, "{entry}", "MACs not learned: their bucket held only static entries");
    }

    public void Dispose() => _meter.Dispose();

    private void PortCounter(string name, string unit, string description, Func<PortCounters, long> read) =>
        _meter.CreateObservableCounter(name, () => Ports(slot => read(slot.Counters)), unit, description);

    private IEnumerable<Measurement<long>> Ports(Func<PortSlot, long> read)
    {
        foreach (var slot in _bridge.Snapshot.Ports)
        {
            if (slot is not null)
            {
                yield return new Measurement<long>(read(slot), new KeyValuePair<string, object?>("port", slot.Name));
            }
        }
    }

    private IEnumerable<Measurement<long>> ObserveDrops()
    {
        foreach (var slot in _bridge.Snapshot.Ports)
        {
            if (slot is null)
            {
                continue;
            }

            foreach (var reason in DropReasons.All)
            {
                yield return new Measurement<long>(slot.Counters.Drops(reason), new KeyValuePair<string, object?>("port", slot.Name), new KeyValuePair<string, object?>("reason", DropReasons.Name(reason)));
            }
        }
    }
}
