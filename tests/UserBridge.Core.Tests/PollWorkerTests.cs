using UserBridge.Core.Frames;
using UserBridge.Core.Ports;
using UserBridge.Core.Switching;
using UserBridge.Core.Workers;

namespace UserBridge.Core.Tests;

/// <summary><see cref="BridgeOptions.Pollers"/>: pollable ports served by poller threads instead of a worker each.</summary>
public sealed class PollWorkerTests : IDisposable
{
    private static readonly MacAddress StationA = Frames.Station(0xA);
    private static readonly MacAddress StationB = Frames.Station(0xB);

    private readonly MemoryPollSet _set = new();
    private readonly Bridge _bridge;

    public PollWorkerTests() => _bridge = new Bridge(new BridgeOptions { Pollers = 1, CreatePollSet = () => _set });

    public void Dispose() => _bridge.Dispose();

    [Fact]
    public void OnePollerForwardsBetweenPollablePortsWhileOtherPortsKeepAWorkerEach()
    {
        var (a, b) = (new PolledMemoryPort("a", _set), new PolledMemoryPort("b", _set));
        var plain = new MemoryPort("plain");
        _bridge.AddPort(a);
        _bridge.AddPort(b);
        _bridge.AddPort(plain);
        _bridge.Start();

        // One batch for the poller, one for the plain port's own worker: nothing for a and b.
        Eventually.True(() => _bridge.BufferPool.Outstanding == 2 * BatchWorker.BatchSize, "the poller and the plain port's worker to start");
        Assert.Equal(2, _set.WatchedFds.Count);

        a.Inject(Frames.Ethernet(MacAddress.Broadcast, StationA));
        Eventually.True(() => b.SentCount == 1 && plain.SentCount == 1, "a's broadcast to reach b and the plain port");
        b.Inject(Frames.Ethernet(StationA, StationB));
        Eventually.True(() => a.SentCount == 1, "b's reply to reach a");
        plain.Inject(Frames.Ethernet(StationB, Frames.Station(0xC)));
        Eventually.True(() => b.SentCount == 2, "the plain port's frame to reach b");
        Assert.Equal(1, plain.SentCount);
        Assert.Equal(3, _bridge.MacTable.Count);
    }

    [Fact]
    public void APortThatFailsIsDroppedFromThePollSetAndGoesDownWhileThePollerServesTheOthers()
    {
        var (a, b, c) = (new PolledMemoryPort("a", _set), new PolledMemoryPort("b", _set), new PolledMemoryPort("c", _set));
        _bridge.AddPort(a);
        _bridge.AddPort(b);
        _bridge.AddPort(c);
        using var failed = new ManualResetEventSlim();
        _bridge.PortFailed += (_, e) =>
        {
            if (e.PortName == "c")
            {
                failed.Set();
            }
        };
        _bridge.Start();

        c.Fail();

        Assert.True(failed.Wait(Eventually.DefaultDeadline, TestContext.Current.CancellationToken), "PortFailed was not raised for c");
        Assert.False(_bridge.Snapshot.Find("c")!.IsUp);
        Assert.DoesNotContain(c.PollFd, _set.WatchedFds);
        var readsOfC = c.Receives;

        a.Inject(Frames.Ethernet(MacAddress.Broadcast, StationA));
        a.Inject(Frames.Ethernet(StationB, StationA));
        Eventually.True(() => b.SentCount == 2, "a's frames to reach b after c failed");
        b.Inject(Frames.Ethernet(StationA, StationB));
        Eventually.True(() => a.SentCount == 1, "b's reply to reach a after c failed");
        Assert.Equal(0, c.SentCount);
        Assert.Equal(readsOfC, c.Receives);
    }

    [Fact]
    public void ARemovedPortIsNeverReadAgainAndItsIndexServesTheNextPort()
    {
        var (a, b) = (new PolledMemoryPort("a", _set), new PolledMemoryPort("b", _set));
        _bridge.AddPort(a);
        _bridge.AddPort(b);
        _bridge.Start();
        b.Inject(Frames.Ethernet(MacAddress.Broadcast, StationB));
        Eventually.True(() => a.SentCount == 1, "b's broadcast to reach a");

        Assert.True(_bridge.RemovePort("b"));

        Assert.True(b.Disposed);
        Assert.DoesNotContain(b.PollFd, _set.WatchedFds);
        var readsOfB = b.Receives;
        b.Inject(Frames.Ethernet(MacAddress.Broadcast, StationB));

        var next = new PolledMemoryPort("next", _set);
        Assert.Equal(1, _bridge.AddPort(next).Index);
        next.Inject(Frames.Ethernet(MacAddress.Broadcast, Frames.Station(0xD)));
        Eventually.True(() => a.SentCount == 2, "the new port's broadcast to reach a");
        Assert.Equal(readsOfB, b.Receives);
    }

    [Fact]
    public void APortThatNeverSetsTheBufferOffsetGetsItsFramesThroughAfterOneThatDid()
    {
        var (headed, plain) = (new PolledMemoryPort("headed", _set, frameOffset: 12), new PolledMemoryPort("plain", _set));
        _bridge.AddPort(headed);
        _bridge.AddPort(plain);
        _bridge.Start();
        var fromHeaded = Frames.Ethernet(MacAddress.Broadcast, StationA, payloadLength: 100);
        var fromPlain = Frames.Ethernet(StationA, StationB, payloadLength: 60);

        for (var round = 0; round < 3; round++)
        {
            headed.Inject(fromHeaded);
            Eventually.True(() => plain.SentCount == round + 1, "the headed port's frame to reach the plain one");
            plain.Inject(fromPlain);
            Eventually.True(() => headed.SentCount == round + 1, "the plain port's frame to reach the headed one");
            Assert.True(plain.TryTakeSent(out var atPlain));
            Assert.Equal(fromHeaded, atPlain);
            Assert.True(headed.TryTakeSent(out var atHeaded));
            Assert.Equal(fromPlain, atHeaded);
        }
    }
}
