using UserBridge.Core.Forwarding;
using UserBridge.Core.Ports;
using UserBridge.Core.Switching;

namespace UserBridge.Core.Tests;

/// <summary>The control inbox alone (order, bound, many posters), and the bridge's control thread acting on its notices.</summary>
public sealed class ControlInboxTests
{
    private static readonly MemoryPort Port = new("p");

    [Fact]
    public void NoticesComeOutInTheOrderTheyWerePosted()
    {
        var inbox = new ControlInbox(capacity: 8);
        var failure = new PortException("read p: gone");

        Assert.True(inbox.TryPost(ControlNotice.Failed(3, Port, failure)));
        Assert.True(inbox.TryPost(ControlNotice.Tripped(5, Port, DropReason.BpduGuard)));

        Assert.True(inbox.TryTake(out var first));
        Assert.Equal((ControlNoticeKind.PortFailed, 3, failure), (first.Kind, first.PortIndex, first.Failure));
        Assert.True(inbox.TryTake(out var second));
        Assert.Equal((ControlNoticeKind.GuardTripped, 5, DropReason.BpduGuard), (second.Kind, second.PortIndex, second.Guard));
        Assert.False(inbox.TryTake(out _));
    }

    [Fact]
    public void AFullInboxRefusesAndCountsTheNoticeAtOnceAndTakesNewOnesOnceOneIsTaken()
    {
        var inbox = new ControlInbox(capacity: 4);
        for (var i = 0; i < inbox.Capacity; i++)
        {
            Assert.True(inbox.TryPost(ControlNotice.Tripped(i, Port, DropReason.MacLimit)));
        }

        Assert.False(inbox.TryPost(ControlNotice.Tripped(99, Port, DropReason.MacLimit)));
        Assert.False(inbox.TryPost(ControlNotice.Tripped(99, Port, DropReason.MacLimit)));
        Assert.Equal(2, inbox.Refused);

        Assert.True(inbox.TryTake(out var oldest));
        Assert.Equal(0, oldest.PortIndex);
        Assert.True(inbox.TryPost(ControlNotice.Tripped(4, Port, DropReason.MacLimit)));
        var taken = new List<int>();
        while (inbox.TryTake(out var notice))
        {
            taken.Add(notice.PortIndex);
        }

        Assert.Equal([1, 2, 3, 4], taken);
    }

    [Fact]
    public void NoticesFromManyWorkersAtOnceAllArriveEachWorkersInItsOrder()
    {
        const int Workers = 4;
        const int PerWorker = 20_000;
        var inbox = new ControlInbox(capacity: 64);
        var posters = Enumerable.Range(0, Workers).Select(worker => new Thread(() =>
        {
            for (var i = 0; i < PerWorker; i++)
            {
                // The consumer keeps up in the end: a refused notice is posted again, as a later offending frame would.
                while (!inbox.TryPost(ControlNotice.Tripped((worker * PerWorker) + i, Port, DropReason.BpduGuard)))
                {
                    Thread.Yield();
                }
            }
        })).ToArray();
        Array.ForEach(posters, poster => poster.Start());

        var last = Enumerable.Repeat(-1, Workers).ToArray();
        for (var received = 0; received < Workers * PerWorker;)
        {
            inbox.Wait();
            while (inbox.TryTake(out var notice))
            {
                var (worker, sequence) = Math.DivRem(notice.PortIndex, PerWorker);
                Assert.True(sequence == last[worker] + 1, $"worker {worker}: notice {sequence} after {last[worker]}");
                last[worker] = sequence;
                received++;
            }
        }

        Array.ForEach(posters, poster => poster.Join());
        Assert.All(last, sequence => Assert.Equal(PerWorker - 1, sequence));
    }

    [Fact]
    public void AFailureNoticeForAPortRemovedSinceLeavesThePortThatTookItsIndexUp()
    {
        using var bridge = new Bridge(new BridgeOptions());
        var gone = new MemoryPort("gone");
        var index = bridge.AddPort(gone).Index;
        Assert.True(bridge.RemovePort("gone"));
        var successor = bridge.AddPort(new MemoryPort("successor"));
        Assert.Equal(index, successor.Index);
        using var raised = new ManualResetEventSlim();
        bridge.PortFailed += (_, e) =>
        {
            if (e.PortName == "gone")
            {
                raised.Set();
            }
        };

        bridge.OnPortFailed(index, gone, new PortException("read gone: closed", PortFailure.Closed));

        Assert.True(raised.Wait(Eventually.DefaultDeadline, TestContext.Current.CancellationToken), "PortFailed was not raised for the removed port");
        Assert.True(bridge.Snapshot.Find("successor")!.IsUp);
        Assert.Equal(1, bridge.Failures(PortFailure.Closed));
    }

    [Fact]
    public async Task AFailedPortIsDownAndCountedBeforeItsListenersHearOfIt()
    {
        using var bridge = new Bridge(new BridgeOptions());
        var port = new MemoryPort("failing");
        bridge.AddPort(port);
        bridge.AddPort(new MemoryPort("other"));
        bridge.MacTable.Learn(Learning.MacTable.Key(Frames.Station(1), 0), 0, bridge.MacTable.NowMs);
        var heard = new TaskCompletionSource<(bool IsUp, long Failures, int Entries)>();
        bridge.PortFailed += (_, _) => heard.TrySetResult((bridge.Snapshot.Find("failing")!.IsUp, bridge.Failures(PortFailure.Error), bridge.MacTable.CountOn(0)));
        bridge.Start();

        port.Fail();

        Assert.Equal((false, 1L, 0), await heard.Task.WaitAsync(Eventually.DefaultDeadline, TestContext.Current.CancellationToken));
        Assert.Equal(0, bridge.RefusedNotices);
    }

    [Fact]
    public void ATakenBackShutdownLatchLetsTheNextOffendingFrameAskAgainAndCountsOnce()
    {
        var counters = new PortCounters();
        Assert.True(counters.TryLatchShutdown());
        Assert.False(counters.TryLatchShutdown());

        counters.UndoShutdownLatch();

        Assert.Equal(0, counters.Shutdowns);
        Assert.True(counters.TryLatchShutdown());
        Assert.Equal(1, counters.Shutdowns);
    }
}
