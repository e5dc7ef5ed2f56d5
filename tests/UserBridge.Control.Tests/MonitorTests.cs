using System.Text.Json.Nodes;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using UserBridge.Control.Management;
using UserBridge.Control.Runtime;
using UserBridge.Core.Frames;
using UserBridge.Core.Learning;
using UserBridge.Core.Ports;
using UserBridge.Core.Switching;

namespace UserBridge.Control.Tests;

/// <summary><c>monitor</c> over the management socket: events as JSON lines, in order, only while someone listens.</summary>
public sealed class MonitorTests : IDisposable
{
    private static readonly MacAddress Station = MacAddress.Parse("02:00:00:00:00:0a");
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    private readonly Bridge _bridge = new(new BridgeOptions());
    private readonly RunningSwitch _ports;
    private readonly ManagementServer _server;
    private readonly string _socketPath = Path.Combine(Path.GetTempPath(), $"ub-monitor-{Guid.NewGuid():N}.sock");

    public MonitorTests()
    {
        _ports = new RunningSwitch(_bridge, NullLogger.Instance, _ => { });
        _bridge.AddPort(new MemoryPort("p1"));
        _bridge.AddPort(new MemoryPort("p2"));
        _server = ManagementServer.Start(_socketPath, _ports, NullLogger.Instance);
    }

    public void Dispose()
    {
        _server.Dispose();
        _ports.Dispose();
        _bridge.Dispose();
    }

    [Fact]
    public void AMonitorGetsEveryEventAsAJsonLineInOrderFromWhenItStarted()
    {
        _bridge.MacTable.Learn(MacTable.Key(Station, 0), 1, _bridge.MacTable.NowMs);
        using var connection = StreamConnection.Open(_socketPath, ManagementVerbs.MonitorVerb);
        using var reader = new StreamReader(connection.Stream, Encoding.UTF8);
        Assert.True(_bridge.Events.Enabled);

        _bridge.MacTable.Learn(MacTable.Key(Station, 0), 0, _bridge.MacTable.NowMs);
        _bridge.SetPortUp("p2", isUp: false);
        _bridge.AddPort(new MemoryPort("p3"));

        var moved = Next(reader);
        Assert.Equal("moved", (string?)moved["event"]);
        Assert.Equal("02:00:00:00:00:0a", (string?)moved["mac"]);
        Assert.Equal(0, (int?)moved["vlan"]);
        Assert.Equal("p1", (string?)moved["port"]);
        Assert.Equal("p2", (string?)moved["from"]);
        Assert.True(DateTimeOffset.TryParse((string?)moved["time"], out var time) && Math.Abs((DateTimeOffset.UtcNow - time).TotalMinutes) < 1, $"bad time: {moved}");
        Assert.Equal("{\"event\":\"port_down\",\"port\":\"p2\"}", Without(Next(reader), "time"));
        Assert.Equal("{\"event\":\"port_added\",\"port\":\"p3\"}", Without(Next(reader), "time"));
    }

    [Fact]
    public void EventsAreOffWhenTheLastMonitorLeavesAndASecondMonitorIsServedAlongside()
    {
        var first = StreamConnection.Open(_socketPath, ManagementVerbs.MonitorVerb);
        using (var second = StreamConnection.Open(_socketPath, ManagementVerbs.MonitorVerb))
        using (var reader = new StreamReader(second.Stream, Encoding.UTF8))
        {
            first.Dispose();
            _bridge.SetPortUp("p1", isUp: false);
            Assert.Equal("port_down", (string?)Next(reader)["event"]);
            Assert.Equal("{\"ok\":true,\"result\":[]}", ManagementProtocol.Handle(_ports, ManagementProtocol.Request("mirror show")));
        }

        var deadline = DateTime.UtcNow + Deadline;
        while (_bridge.Events.Enabled && DateTime.UtcNow < deadline)
        {
            Thread.Sleep(10);
        }

        Assert.False(_bridge.Events.Enabled, "events stayed on after every monitor left");
    }

    [Fact]
    public void AMonitorThatFellBehindHearsWhatItLostWithoutWaitingForAnotherEvent()
    {
        const int Burst = 40_000;
        const int Slice = 1_000;
        using var connection = StreamConnection.Open(_socketPath, ManagementVerbs.MonitorVerb);
        using var reader = new StreamReader(connection.Stream, Encoding.UTF8);
        var table = _bridge.MacTable;

        // Far more than the monitor's queue and its socket hold, while it reads nothing; then nothing more happens. In
        // slices, so that the switch's own event ring (drained every 20 ms) keeps up and the losses are the monitor's.
        for (var i = 0; i < Burst; i++)
        {
            table.Learn(MacTable.Key(new MacAddress(0x0200_0000_0000UL + (ulong)i), 0), 0, table.NowMs);
            if (i % Slice == Slice - 1)
            {
                Thread.Sleep(10);
            }
        }

        var published = table.LearnedCount + table.EvictedCount;
        long received = 0, lost = 0;
        while (received + lost < published)
        {
            var item = Next(reader, () => $"{received} events and {lost} lost reported of {published}");
            if ((string?)item["event"] == "lost")
            {
                lost += (long)item["count"]!;
            }
            else
            {
                received++;
            }
        }

        Assert.True(lost > 0, $"the burst of {published} events fitted: received {received}");
        Assert.Equal(published, received + lost);
    }

    [Fact]
    public void MonitorIsRefusedAfterAnotherRequestOnTheSameConnection()
    {
        var reply = ManagementProtocol.Handle(_ports, ManagementProtocol.Request(ManagementVerbs.MonitorVerb));

        Assert.StartsWith("{\"ok\":false,\"error\":\"monitor must be the first request on its connection", reply, StringComparison.Ordinal);
    }

    private static JsonObject Next(StreamReader reader, Func<string>? sofar = null)
    {
        var line = reader.ReadLineAsync(TestContext.Current.CancellationToken).AsTask();
        Assert.True(line.Wait(Deadline, TestContext.Current.CancellationToken), $"no event within the deadline{(sofar is null ? string.Empty : $" after {sofar()}")}");
        return JsonNode.Parse(line.Result ?? throw new InvalidOperationException("the monitor stream ended"))!.AsObject();
    }

    private static string Without(JsonObject item, string key)
    {
        item.Remove(key);
        return item.ToJsonString();
    }
}
