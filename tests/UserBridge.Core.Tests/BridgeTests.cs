using System.Diagnostics;
using Microsoft.Extensions.Time.Testing;
using UserBridge.Core.Frames;
using UserBridge.Core.Ports;
using UserBridge.Core.Switching;
using UserBridge.Core.Workers;

namespace UserBridge.Core.Tests;

/// <summary>The whole switch with its worker threads, over in-memory ports.</summary>
public sealed class BridgeTests
{
    private static readonly TimeSpan EventDeadline = TimeSpan.FromSeconds(10);
    private static readonly MacAddress StationA = Frames.Station(0xA);
    private static readonly MacAddress StationB = Frames.Station(0xB);

    [Fact]
    public void DeliversFramesBetweenMemoryPortsThroughTheWorkers()
    {
        using var bridge = new Bridge(new BridgeOptions());
        var (a, b, c) = (new MemoryPort("a"), new MemoryPort("b"), new MemoryPort("c"));
        bridge.AddPort(a);
        bridge.AddPort(b);
        bridge.AddPort(c);
        bridge.Start();

        var broadcast = Frames.Ethernet(MacAddress.Broadcast, StationA);
        a.Inject(broadcast);
        Eventually.True(() => b.SentCount == 1 && c.SentCount == 1, "a's broadcast to reach b and c");

        var reply = Frames.Ethernet(StationA, StationB, payloadLength: 200);
        b.Inject(reply);
        Eventually.True(() => a.SentCount == 1, "b's reply to reach a");

        Assert.True(b.TryTakeSent(out var atB));
        Assert.Equal(broadcast, atB);
        Assert.True(a.TryTakeSent(out var atA));
        Assert.Equal(reply, atA);
        Assert.Equal(0, bridge.Snapshot.Find("b")!.Counters.Floods);
        Assert.Equal(1, c.SentCount);
        Assert.Equal(1, bridge.Snapshot.Find("a")!.Counters.RxFrames);
        Assert.Equal(2, bridge.MacTable.Count);
    }

    [Fact]
    public void DisposeStopsEveryWorkerPromptlyAndReturnsEveryBuffer()
    {
        using var bridge = new Bridge(new BridgeOptions());
        var ports = new[] { new MemoryPort("a"), new MemoryPort("b"), new MemoryPort("c") };
        foreach (var port in ports)
        {
            bridge.AddPort(port);
        }

        bridge.Start();
        Eventually.True(() => bridge.BufferPool.Outstanding == ports.Length * BatchWorker.BatchSize, "every worker to rent its batch of buffers");
        ports[0].Inject(Frames.Ethernet(MacAddress.Broadcast, StationA));
        Eventually.True(() => ports[1].SentCount == 1 && ports[2].SentCount == 1, "a broadcast to cross the switch");

        var clock = Stopwatch.StartNew();
        bridge.Dispose();
        clock.Stop();

        // A worker that is not woken costs the bridge its whole one-second stop timeout.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"Dispose took {clock.Elapsed.TotalMilliseconds:0} ms: a worker on a quiet port was not woken");
        Assert.Equal(0, bridge.BufferPool.Outstanding);
        Assert.Empty(bridge.Snapshot.Ports);
        Assert.Throws<ObjectDisposedException>(() => ports[0].Inject(Frames.Ethernet(MacAddress.Broadcast, StationA)));
    }

    [Fact]
    public void APortWhoseReceiveThrowsGoesDownWhileTheOthersKeepForwarding()
    {
        using var bridge = new Bridge(new BridgeOptions());
        var (a, b, c) = (new MemoryPort("a"), new MemoryPort("b"), new MemoryPort("c"));
        bridge.AddPort(a);
        bridge.AddPort(b);
        bridge.AddPort(c);
        using var failed = new ManualResetEventSlim();
        PortFailedEventArgs? failure = null;
        bridge.PortFailed += (_, e) =>
        {
            failure = e;
            failed.Set();
        };
        bridge.Start();

        c.Fail();

        Assert.True(failed.Wait(EventDeadline, TestContext.Current.CancellationToken), $"timed out after {EventDeadline.TotalSeconds} s waiting for PortFailed for port c");
        Assert.Equal("c", failure!.PortName);
        Assert.IsType<PortException>(failure.Exception);
        Assert.False(bridge.Snapshot.Find("c")!.IsUp);
        Assert.True(bridge.Snapshot.Find("a")!.IsUp);
        Assert.Equal([0, 1], bridge.Snapshot.FloodPorts);

        a.Inject(Frames.Ethernet(MacAddress.Broadcast, StationA));
        a.Inject(Frames.Ethernet(StationB, StationA));
        Eventually.True(() => b.SentCount == 2, "both of a's frames to reach b after c failed");
        b.Inject(Frames.Ethernet(StationA, StationB));
        Eventually.True(() => a.SentCount == 1, "b's reply to reach a after c failed");
        Assert.Equal(0, c.SentCount);

        bridge.Dispose();
        Assert.Equal(0, bridge.BufferPool.Outstanding);
    }

    [Fact]
    public void TheSweeperAgesOutStationsOnTheBridgeClock()
    {
        var time = new FakeTimeProvider();
        using var bridge = new Bridge(new BridgeOptions { AgingTime = TimeSpan.FromSeconds(10) }, time);
        var (a, b) = (new MemoryPort("a"), new MemoryPort("b"));
        bridge.AddPort(a);
        bridge.AddPort(b);
        bridge.Start();
        a.Inject(Frames.Ethernet(MacAddress.Broadcast, StationA));
        Eventually.True(() => b.SentCount == 1, "a's broadcast to reach b");
        Assert.Equal(1, bridge.MacTable.Count);

        time.Advance(TimeSpan.FromSeconds(9));
        Assert.Equal(1, bridge.MacTable.Count);

        time.Advance(TimeSpan.FromSeconds(2));
        Eventually.True(() => bridge.MacTable.Count == 0, "the sweeper to age out station A");
        Assert.Equal(1, bridge.MacTable.AgedCount);
    }

    [Fact]
    public void RemovingAPortStopsItsWorkerAndForgetsItsStations()
    {
        using var bridge = new Bridge(new BridgeOptions());
        var (a, b) = (new MemoryPort("a"), new MemoryPort("b"));
        bridge.AddPort(a);
        bridge.AddPort(b);
        bridge.Start();
        Eventually.True(() => bridge.BufferPool.Outstanding == 2 * BatchWorker.BatchSize, "both workers to start");
        b.Inject(Frames.Ethernet(MacAddress.Broadcast, StationB));
        Eventually.True(() => a.SentCount == 1, "b's broadcast to reach a");

        Assert.True(bridge.RemovePort("b"));

        Assert.Null(bridge.Snapshot.Find("b"));
        Assert.Equal(0, bridge.MacTable.Count);
        Assert.Equal(BatchWorker.BatchSize, bridge.BufferPool.Outstanding);
        Assert.Throws<ObjectDisposedException>(() => b.Inject(Frames.Ethernet(MacAddress.Broadcast, StationB)));
        Assert.False(bridge.RemovePort("b"));
    }

    [Fact]
    public void AFrameReadWhileItsPortIsBeingRemovedDoesNotCrashTheWorker()
    {
        using var bridge = new Bridge(new BridgeOptions());
        var racer = new RacingPort("racer", Frames.Ethernet(MacAddress.Broadcast, StationA), () => bridge.Snapshot.Find("racer") is null);
        var other = new MemoryPort("other");
        bridge.AddPort(other);
        bridge.AddPort(racer);
        var failures = new List<PortFailedEventArgs>();
        bridge.PortFailed += (_, e) => failures.Add(e);
        bridge.Start();
        Eventually.True(() => racer.Receiving && bridge.BufferPool.Outstanding == 2 * BatchWorker.BatchSize, "both workers to start, the racing one waiting for its frame");

        Assert.True(bridge.RemovePort("racer"));

        Assert.True(racer.Delivered, "the racing frame was never read: the test did not produce the race");
        Assert.Empty(failures);
        Assert.Equal(0, other.SentCount);
        Assert.Equal(BatchWorker.BatchSize, bridge.BufferPool.Outstanding);
    }

    [Fact]
    public void AFrameReadWhileTheBridgeIsBeingDisposedDoesNotCrashTheWorker()
    {
        using var bridge = new Bridge(new BridgeOptions());
        var racer = new RacingPort("racer", Frames.Ethernet(MacAddress.Broadcast, StationA), () => bridge.Snapshot.Ports.Length == 0);
        bridge.AddPort(new MemoryPort("other"));
        bridge.AddPort(racer);
        var failures = new List<PortFailedEventArgs>();
        bridge.PortFailed += (_, e) => failures.Add(e);
        bridge.Start();
        Eventually.True(() => racer.Receiving && bridge.BufferPool.Outstanding == 2 * BatchWorker.BatchSize, "both workers to start, the racing one waiting for its frame");

        bridge.Dispose();

        Assert.True(racer.Delivered, "the racing frame was never read: the test did not produce the race");
        Assert.Empty(failures);
        Assert.Equal(0, bridge.BufferPool.Outstanding);
    }
}
