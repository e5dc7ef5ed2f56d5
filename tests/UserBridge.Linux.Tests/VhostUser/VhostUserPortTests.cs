using UserBridge.Core.Offload;
using UserBridge.Linux.Ports.VhostUser;

namespace UserBridge.Linux.Tests.VhostUser;

/// <summary>
/// The vhost-user protocol and data path against a frontend written by the test (<see cref="TestFrontend"/>): what
/// QEMU sends when a guest's driver starts, then frames both ways through the guest's rings.
/// </summary>
public sealed unsafe class VhostUserPortTests : IDisposable
{
    private readonly VhostUserLab _lab = new();

    public void Dispose() => _lab.Dispose();

    [Fact]
    public void TheFeaturesOfferedAreVersionOneVirtioNetWithOffloadsAndTheRingsStartAPort()
    {
        var frontend = _lab.Frontend;
        frontend.Send(VhostUserRequest.GetFeatures, []);
        Assert.Equal(VhostUserProtocol.OfferedFeatures, frontend.ReadU64Reply(VhostUserRequest.GetFeatures));
        frontend.Send(VhostUserRequest.GetQueueNum, []);
        Assert.Equal(1UL, frontend.ReadU64Reply(VhostUserRequest.GetQueueNum));
        Assert.Null(_lab.Port);

        frontend.Start();

        VhostUserLab.Wait(() => _lab.Port is not null, "the vhost-user port to join the bridge");
        var port = Assert.IsType<VhostUserPort>(_lab.Port!.Port);
        Assert.Equal("vhost-user", port.Type);
        Assert.Equal(1, port.Queues.Pairs);
        Assert.Equal(12, port.Queues.HeaderSize);
        Assert.True(port.Queues.Mergeable);
        Assert.Contains(_lab.Lines, line => line.Contains("port vm up: vhost-user", StringComparison.Ordinal));
    }

    [Fact]
    public void AFrameTheGuestTransmitsReachesTheOtherPortsAndItsBufferComesBack()
    {
        Started();
        var frame = VhostUserLab.Frame(new(0xFFFF_FFFF_FFFF), VhostUserLab.Guest, 200);

        _lab.Frontend.Transmit(frame);

        VhostUserLab.Wait(() => _lab.M1.SentCount == 1 && _lab.M2.SentCount == 1, "the broadcast to reach both memory ports");
        Assert.True(_lab.M1.TryTakeSent(out var sent));
        Assert.Equal(frame, sent);
        var used = _lab.Frontend.TakeUsed(1);
        Assert.Equal([(0u, 0u)], used);
    }

    [Fact]
    public void AFrameForTheGuestLandsInOneReceiveBufferBehindItsHeaderAndTheGuestIsCalled()
    {
        Started();
        _lab.Frontend.PostReceiveBuffers(8);
        var frame = VhostUserLab.Frame(new(0xFFFF_FFFF_FFFF), VhostUserLab.Host1, 300);

        _lab.M1.Inject(frame);

        VhostUserLab.Wait(() => _lab.Port!.Counters.TxFrames == 1, "the frame to be put in the guest's ring");
        var received = Assert.Single(_lab.Frontend.TakeReceived());
        Assert.Equal(1, received.Buffers);
        Assert.Equal(frame, received.Frame);
        Assert.Equal(VirtioNetHeader.None, received.Header);
        Assert.True(_lab.Frontend.TakeCalls(0) >= 1, "the guest was not called after its first used entry");
    }

    [Fact]
    public void AFrameLargerThanOneBufferSpansMergeableBuffersWithTheirCountInTheHeader()
    {
        Started();
        _lab.Frontend.PostReceiveBuffers(8, size: 1024);
        var frame = VhostUserLab.Frame(new(0xFFFF_FFFF_FFFF), VhostUserLab.Host1, 3000);

        _lab.M1.Inject(frame);

        VhostUserLab.Wait(() => _lab.Port!.Counters.TxFrames == 1, "the frame to be put in the guest's ring");
        var received = Assert.Single(_lab.Frontend.TakeReceived());
        Assert.Equal(3, received.Buffers);
        Assert.Equal(frame, received.Frame);
    }

    [Fact]
    public void WithNoReceiveBufferTheFrameIsCountedAsASendErrorAndLaterFramesStillArrive()
    {
        Started();
        _lab.M1.Inject(VhostUserLab.Frame(new(0xFFFF_FFFF_FFFF), VhostUserLab.Host1));
        VhostUserLab.Wait(() => _lab.Port!.Counters.TxErrors == 1, "the frame without room to count as a send error");

        _lab.Frontend.PostReceiveBuffers(1);
        _lab.M1.Inject(VhostUserLab.Frame(new(0xFFFF_FFFF_FFFF), VhostUserLab.Host1, fill: 0x11));

        VhostUserLab.Wait(() => _lab.Port!.Counters.TxFrames == 1, "the next frame to arrive");
        Assert.Equal(0x11, Assert.Single(_lab.Frontend.TakeReceived()).Frame[^1]);
    }

    [Fact]
    public void AnOffloadedFrameTheGuestAcceptsGoesWholeWithItsHeader()
    {
        Started();
        _lab.Frontend.PostReceiveBuffers(4);
        var frame = VhostUserLab.Frame(VhostUserLab.Guest, VhostUserLab.Host1, 120);
        var offload = new VirtioNetHeader(VirtioNetHeader.FlagNeedsChecksum, VirtioNetHeader.GsoNone, 54, 0, 34, 16);
        var port = (VhostUserPort)_lab.Port!.Port;

        Assert.True(port.Accepts(offload));
        Assert.False(port.Accepts(offload with { GsoType = VirtioNetHeader.GsoTcpV6, GsoSize = 1448 }), "TSO6 was not negotiated");
        Assert.True(port.Send(frame, offload));

        var received = Assert.Single(_lab.Frontend.TakeReceived());
        Assert.Equal(offload, received.Header);
        Assert.Equal(frame, received.Frame);
    }

    [Fact]
    public void GetVringBaseStopsThePortAndReturnsTheNextAvailableIndex()
    {
        Started();
        for (var i = 0; i < 3; i++)
        {
            _lab.Frontend.Transmit(VhostUserLab.Frame(new(0xFFFF_FFFF_FFFF), VhostUserLab.Guest));
        }

        VhostUserLab.Wait(() => _lab.M1.SentCount == 3, "three frames from the guest");
        _lab.Frontend.Send(VhostUserRequest.GetVringBase, TestFrontend.VringState(1, 0));
        var reply = _lab.Frontend.ReadReply();

        Assert.Equal(VhostUserRequest.GetVringBase, reply.Request);
        Assert.Equal(TestFrontend.VringState(1, 3), reply.Payload);
        Assert.Null(_lab.Port);
    }

    [Fact]
    public void TheGuestIsAskedToKickAtTheNextEntryOnlyOnceTheSwitchHasTakenEverything()
    {
        Started();
        _lab.Frontend.Transmit(VhostUserLab.Frame(new(0xFFFF_FFFF_FFFF), VhostUserLab.Guest));

        VhostUserLab.Wait(() => _lab.M1.SentCount == 1, "the guest's frame");
        VhostUserLab.Wait(() => _lab.Frontend.AvailEvent(1) == 1, "avail_event to ask for a kick at entry 1");
    }

    [Fact]
    public void GetVringBaseWhileTheGuestTransmitsStopsTheRingWhereTheSwitchStoppedTaking()
    {
        Started();
        var frame = VhostUserLab.Frame(new(0xFFFF_FFFF_FFFF), VhostUserLab.Guest);
        var transmitted = 0;
        var completed = 0;
        var stopping = false;
        var guest = new Thread(() =>
        {
            // The guest keeps transmitting, reusing its descriptors as the switch hands them back.
            while (!Volatile.Read(ref stopping))
            {
                completed += _lab.Frontend.TakeUsed(1).Count;
                if (transmitted - completed < TestFrontend.QueueSize)
                {
                    _lab.Frontend.Transmit(frame);
                    Volatile.Write(ref transmitted, transmitted + 1);
                }
            }
        });
        guest.Start();
        VhostUserLab.Wait(() => _lab.M1.SentCount > 1000, "traffic from the guest");

        _lab.Frontend.Send(VhostUserRequest.GetVringBase, TestFrontend.VringState(1, 0));
        var reply = _lab.Frontend.ReadReply();
        var stoppedAt = BitConverter.ToUInt32(reply.Payload, 4);
        var forwarded = _lab.M1.SentCount;
        Thread.Sleep(200);
        Volatile.Write(ref stopping, true);
        guest.Join();

        completed += _lab.Frontend.TakeUsed(1).Count;

        // The index is where the switch stopped taking: every entry before it was handed back, none after. The frames
        // of the batch a worker had read as the port left are dropped with it (as a NIC's at a reset), so the memory
        // port may have seen up to a batch fewer.
        Assert.Null(_lab.Port);
        Assert.Equal((ushort)completed, (ushort)stoppedAt);
        Assert.InRange(completed - forwarded, 0, TestFrontend.QueueSize);
        Assert.Equal(forwarded, _lab.M1.SentCount);
        Assert.True(transmitted > completed, $"the guest made {transmitted} frames available and the switch took {completed}: the ring was never stopped with frames left");
    }

    [Fact]
    public void AFrontendThatResetsAndStartsAgainGetsItsPortBackAndForwards()
    {
        Started();
        _lab.Frontend.Transmit(VhostUserLab.Frame(new(0xFFFF_FFFF_FFFF), VhostUserLab.Guest));
        VhostUserLab.Wait(() => _lab.M1.SentCount == 1, "the first frame");

        _lab.Frontend.Send(VhostUserRequest.ResetOwner, []);
        VhostUserLab.Wait(() => _lab.Port is null, "the port to leave on RESET_OWNER");
        _lab.Frontend.Restart();
        _lab.Frontend.Start();
        VhostUserLab.Wait(() => _lab.Port is not null, "the port to come back");
        _lab.Frontend.Transmit(VhostUserLab.Frame(new(0xFFFF_FFFF_FFFF), VhostUserLab.Guest));

        VhostUserLab.Wait(() => _lab.M1.SentCount == 2, "a frame after the restart");
    }

    [Fact]
    public void WithTwoQueuePairsBothTransmitQueuesAreReadAndFramesForTheGuestGoToAReceiveQueue()
    {
        using var lab = new VhostUserLab(maxQueuePairs: 2);
        lab.Frontend.Send(VhostUserRequest.GetQueueNum, []);
        Assert.Equal(2UL, lab.Frontend.ReadU64Reply(VhostUserRequest.GetQueueNum));
        lab.Frontend.Start();
        VhostUserLab.Wait(() => lab.Port is not null, "the two-pair port to join the bridge");
        Assert.Equal(2, ((VhostUserPort)lab.Port!.Port).Queues.Pairs);

        lab.Frontend.Transmit(VhostUserLab.Frame(new(0xFFFF_FFFF_FFFF), VhostUserLab.Guest, fill: 1), queue: 1);
        lab.Frontend.Transmit(VhostUserLab.Frame(new(0xFFFF_FFFF_FFFF), VhostUserLab.Guest, fill: 3), queue: 3);
        VhostUserLab.Wait(() => lab.M1.SentCount == 2, "a frame from each transmit queue");
        Assert.Single(lab.Frontend.TakeUsed(1));
        Assert.Single(lab.Frontend.TakeUsed(3));

        lab.Frontend.PostReceiveBuffers(4, queue: 0);
        lab.Frontend.PostReceiveBuffers(4, queue: 2);
        lab.M1.Inject(VhostUserLab.Frame(new(0xFFFF_FFFF_FFFF), VhostUserLab.Host1));
        VhostUserLab.Wait(() => lab.Port!.Counters.TxFrames == 1, "the frame for the guest");
        Assert.Equal(1, lab.Frontend.TakeReceived(0).Count + lab.Frontend.TakeReceived(2).Count);
    }

    private void Started()
    {
        _lab.Frontend.Start();
        VhostUserLab.Wait(() => _lab.Port is not null, "the vhost-user port to join the bridge");
    }
}
