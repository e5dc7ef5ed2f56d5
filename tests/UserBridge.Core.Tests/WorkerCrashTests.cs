using UserBridge.Core.Frames;
using UserBridge.Core.Ports;
using UserBridge.Core.Switching;
using UserBridge.Core.Workers;

namespace UserBridge.Core.Tests;

/// <summary>
/// A worker that crashes (a bug, not a port failure) is logged, counted and serves its port again; a port whose
/// worker keeps crashing goes down; the other ports forward throughout. For a worker of its own and for a poller.
/// </summary>
public sealed class WorkerCrashTests
{
    private static readonly MacAddress StationA = Frames.Station(0xA);

    [Fact]
    public void AWorkerThatCrashesServesItsPortAgainAndAThirdCrashInAMinuteTakesThePortDown()
    {
        using var bridge = new Bridge(new BridgeOptions());
        var (flaky, other, third) = (new MemoryPort("flaky"), new MemoryPort("other"), new MemoryPort("third"));
        bridge.AddPort(flaky);
        bridge.AddPort(other);
        bridge.AddPort(third);
        bridge.Start();
        var counters = bridge.Snapshot.Find("flaky")!.Counters;

        for (var crash = 1; crash < BatchWorker.CrashesBeforeDown; crash++)
        {
            flaky.Crash();
            flaky.Inject(Frames.Ethernet(MacAddress.Broadcast, StationA));
            Eventually.True(() => other.SentCount == crash, $"flaky's frame after crash {crash} to be forwarded");
            Assert.Equal(crash, counters.WorkerRestarts);
            Assert.True(bridge.Snapshot.Find("flaky")!.IsUp);
        }

        flaky.Crash();
        Eventually.True(() => !bridge.Snapshot.Find("flaky")!.IsUp, "the third crash to take the port down");
        third.Inject(Frames.Ethernet(MacAddress.Broadcast, Frames.Station(0xC)));
        Eventually.True(() => other.SentCount == BatchWorker.CrashesBeforeDown, "the other ports to forward after it");
    }

    [Fact]
    public void APollerThatCrashesOnOnePortServesItAgainAndTheOthersThroughout()
    {
        var set = new MemoryPollSet();
        using var bridge = new Bridge(new BridgeOptions { Pollers = 1, CreatePollSet = () => set });
        var (flaky, other) = (new PolledMemoryPort("flaky", set), new PolledMemoryPort("other", set));
        bridge.AddPort(flaky);
        bridge.AddPort(other);
        bridge.Start();

        flaky.Crash();
        Eventually.True(() => bridge.Snapshot.Find("flaky")!.Counters.WorkerRestarts == 1, "the crash to be counted");
        flaky.Inject(Frames.Ethernet(MacAddress.Broadcast, StationA));
        other.Inject(Frames.Ethernet(MacAddress.Broadcast, Frames.Station(0xB)));

        Eventually.True(() => other.SentCount == 1 && flaky.SentCount == 1, "both ports to forward after the crash");
        Assert.True(bridge.Snapshot.Find("flaky")!.IsUp);
        Assert.Contains(flaky.PollFd, set.WatchedFds);
    }
}
