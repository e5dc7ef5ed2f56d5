using CsCheck;
using UserBridge.Core.Ports;
using UserBridge.Linux.Ports.VhostUser;

namespace UserBridge.Linux.Tests.VhostUser;

/// <summary>
/// A guest that breaks its rings' rules, and a frontend that breaks the protocol: the port stops (counted as
/// <c>bad_descriptor</c>) or the connection ends, nothing outside the shared region is read or written (the region is the
/// only mapping: a stray access would crash the test process), and the other ports forward on.
/// </summary>
public sealed unsafe class VhostUserGuestAbuseTests
{
    private const ushort Next = SplitQueue.DescriptorNext;
    private const ushort Write = SplitQueue.DescriptorWrite;
    private const ushort Indirect = SplitQueue.DescriptorIndirect;

    public static TheoryData<string> Abuses => ["outside", "straddles", "loop", "next-outside", "head-outside", "writable-in-tx", "nested-indirect", "indirect-outside", "indirect-ragged", "index-jump"];

    [Theory]
    [MemberData(nameof(Abuses))]
    public void AGuestThatBreaksItsTransmitRingLosesItsPortAndTheOthersForwardOn(string abuse)
    {
        using var lab = Started();
        var frontend = lab.Frontend;
        Abuse(frontend, abuse);

        VhostUserLab.Wait(() => lab.Bridge.Failures(PortFailure.BadDescriptor) == 1, $"the {abuse} ring to count as bad_descriptor");
        Assert.Contains("its guest broke a virtqueue's rules", lab.WaitEnded(), StringComparison.Ordinal);
        Assert.Null(lab.Port);
        Assert.True(frontend.SwitchClosed(), "the frontend's connection stayed open");
        ForwardsBetweenTheMemoryPorts(lab);
    }

    [Fact]
    public void AGuestThatBreaksItsReceiveRingLosesItsPort()
    {
        using var lab = Started();
        lab.Frontend.WriteDescriptor(0, 0, TestFrontend.GuestBase + TestFrontend.RegionSize - 8, 64, Write, 0);
        lab.Frontend.Publish(0, 0);

        lab.M1.Inject(VhostUserLab.Frame(new(0xFFFF_FFFF_FFFF), VhostUserLab.Host1));

        VhostUserLab.Wait(() => lab.Bridge.Failures(PortFailure.BadDescriptor) == 1, "the receive ring to count as bad_descriptor");
        lab.WaitEnded();
        ForwardsBetweenTheMemoryPorts(lab);
    }

    [Fact]
    public void AFrameLongerThanAFrameBufferIsDroppedAndCountedAndThePortGoesOn()
    {
        using var lab = Started();
        var frontend = lab.Frontend;
        frontend.WriteDescriptor(1, 0, TestFrontend.Guest(TestFrontend.ScratchOffset), 70_000, 0, 0);
        frontend.Publish(1, 0);
        frontend.Kick(1);

        VhostUserLab.Wait(() => lab.Port!.Counters.Drops(Core.Forwarding.DropReason.TooLong) == 1, "the long frame to count as too_long");
        frontend.WriteDescriptor(1, 1, TestFrontend.Guest(TestFrontend.BufferOffset(1, 1)), 12 + 60, 0, 0);
        VhostUserLab.Frame(new(0xFFFF_FFFF_FFFF), VhostUserLab.Guest, 60).CopyTo(new Span<byte>(frontend.At(TestFrontend.BufferOffset(1, 1) + 12), 60));
        new Span<byte>(frontend.At(TestFrontend.BufferOffset(1, 1)), 12).Clear();
        frontend.Publish(1, 1);
        frontend.Kick(1);
        VhostUserLab.Wait(() => lab.M1.SentCount == 1, "the next frame to be forwarded");
    }

    /// <summary>
    /// Random descriptor tables and available rings, within and across the region's edges, chained, indirect and looping:
    /// each run either forwards what it can or stops the port as <c>bad_descriptor</c>; the process never crashes and the
    /// session always ends or goes on cleanly.
    /// </summary>
    [Fact]
    public void RandomDescriptorsNeverReachOutsideTheSharedRegion()
    {
        var addresses = Gen.OneOf(
            Gen.ULong[TestFrontend.GuestBase, TestFrontend.GuestBase + TestFrontend.RegionSize + 4096],
            Gen.Const(TestFrontend.GuestBase + TestFrontend.RegionSize - 1),
            Gen.Const(0UL),
            Gen.Const(ulong.MaxValue - 16),
            Gen.ULong);
        var descriptor = Gen.Select(addresses, Gen.UInt[0, 80_000], Gen.UShort[0, 7], Gen.UShort[0, TestFrontend.QueueSize + 2]);
        var ring = Gen.Select(descriptor.Array[1, 8], Gen.UShort[0, TestFrontend.QueueSize + 2].Array[1, 4], Gen.Bool);
        var runs = 0;
        ring.Sample(
            sample =>
            {
                var (descriptors, heads, receive) = sample;
                using var lab = Started();
                var queue = receive ? 0 : 1;
                for (var i = 0; i < descriptors.Length; i++)
                {
                    var (address, length, flags, next) = descriptors[i];
                    lab.Frontend.WriteDescriptor(queue, i, address, length, flags, next);
                }

                foreach (var head in heads)
                {
                    lab.Frontend.Publish(queue, head);
                }

                lab.Frontend.Kick(1);
                lab.M1.Inject(VhostUserLab.Frame(new(0xFFFF_FFFF_FFFF), VhostUserLab.Host1, 1500));
                VhostUserLab.Wait(() => lab.Bridge.Failures(PortFailure.BadDescriptor) == 1 || lab.Port?.Counters.TxFrames + lab.Port?.Counters.TxErrors >= 1, "the port to take the frame or stop");
                ForwardsBetweenTheMemoryPorts(lab);
                runs++;
            },
            iter: 150,
            threads: 1);
        Assert.Equal(150, runs);
    }

    [Fact]
    public void APayloadOverTheLimitEndsTheConnection()
    {
        using var lab = new VhostUserLab();
        var header = new byte[VhostUserProtocol.HeaderSize];
        header[0] = (byte)VhostUserRequest.SetMemTable;
        header[4] = 1;
        header[10] = 0x01;
        lab.Frontend.SendRaw(header);

        Assert.Contains("bytes (at most 4096)", lab.WaitEnded(), StringComparison.Ordinal);
        Assert.True(lab.Frontend.SwitchClosed());
    }

    [Fact]
    public void AMessageOfAnotherVersionEndsTheConnection()
    {
        using var lab = new VhostUserLab();
        var header = new byte[VhostUserProtocol.HeaderSize];
        header[0] = (byte)VhostUserRequest.GetFeatures;
        header[4] = 2;
        lab.Frontend.SendRaw(header);

        Assert.Contains("protocol version 2", lab.WaitEnded(), StringComparison.Ordinal);
    }

    [Fact]
    public void AFrontendThatLeavesInsideAMessageEndsItsSessionWithoutAPort()
    {
        using var lab = Started();
        var header = new byte[VhostUserProtocol.HeaderSize];
        header[0] = (byte)VhostUserRequest.SetVringNum;
        header[4] = 1;
        header[8] = 8;
        lab.Frontend.SendRaw(header.AsSpan(0, 12));
        lab.Frontend.SendRaw([0, 0]);
        Assert.NotNull(lab.Port);
        _ = Tmds.Linux.LibC.shutdown(lab.Frontend.Socket, Tmds.Linux.LibC.SHUT_RDWR);

        Assert.Contains("closed the connection inside a message", lab.WaitEnded(), StringComparison.Ordinal);
        Assert.Null(lab.Port);
    }

    [Fact]
    public void ARequestThisSwitchDidNotOfferIsRefusedByReplyAckAndTheConnectionGoesOn()
    {
        using var lab = Started();
        lab.Frontend.Send(VhostUserRequest.SetLogBase, TestFrontend.U64(0), needReply: true);

        Assert.Equal(1UL, lab.Frontend.ReadU64Reply(VhostUserRequest.SetLogBase));
        lab.Frontend.Send(VhostUserRequest.GetQueueNum, []);
        Assert.Equal(1UL, lab.Frontend.ReadU64Reply(VhostUserRequest.GetQueueNum));
    }

    [Fact]
    public void RingsOutsideTheMemoryTableEndTheConnection()
    {
        using var lab = new VhostUserLab();
        var frontend = lab.Frontend;
        frontend.Send(VhostUserRequest.SetFeatures, TestFrontend.U64(TestFrontend.DefaultFeatures));
        frontend.Send(VhostUserRequest.SetMemTable, TestFrontend.MemoryTable(), [frontend.MemFd]);
        var address = TestFrontend.VringAddress(1);
        BitConverter.TryWriteBytes(address.AsSpan(24), TestFrontend.FrontendBase + TestFrontend.RegionSize - 64);
        for (var queue = 0; queue < 2; queue++)
        {
            frontend.Send(VhostUserRequest.SetVringNum, TestFrontend.VringState(queue, TestFrontend.QueueSize));
            frontend.Send(VhostUserRequest.SetVringAddr, queue == 1 ? address : TestFrontend.VringAddress(queue));
            frontend.Send(VhostUserRequest.SetVringKick, TestFrontend.U64((ulong)queue), [frontend.KickFd(queue)]);
            frontend.Send(VhostUserRequest.SetVringEnable, TestFrontend.VringState(queue, 1));
        }

        Assert.Contains("lie outside the guest's memory", lab.WaitEnded(), StringComparison.Ordinal);
        Assert.Null(lab.Port);
    }

    private static VhostUserLab Started()
    {
        var lab = new VhostUserLab();
        lab.Frontend.Start();
        VhostUserLab.Wait(() => lab.Port is not null, "the vhost-user port to join the bridge");
        return lab;
    }

    private static void ForwardsBetweenTheMemoryPorts(VhostUserLab lab)
    {
        var before = lab.M2.SentCount;
        lab.M1.Inject(VhostUserLab.Frame(new(0x0200_0000_0c01), VhostUserLab.Host1));
        VhostUserLab.Wait(() => lab.M2.SentCount > before, "the memory ports to forward on");
    }

    /// <summary>Writes one broken transmit chain and kicks.</summary>
    private static void Abuse(TestFrontend frontend, string abuse)
    {
        var buffer = TestFrontend.Guest(TestFrontend.BufferOffset(1, 0));
        var scratch = frontend.At(TestFrontend.ScratchOffset);
        var table = TestFrontend.Guest(TestFrontend.ScratchOffset);
        switch (abuse)
        {
            case "outside":
                frontend.WriteDescriptor(1, 0, TestFrontend.GuestBase + TestFrontend.RegionSize, 64, 0, 0);
                break;
            case "straddles":
                frontend.WriteDescriptor(1, 0, TestFrontend.GuestBase + TestFrontend.RegionSize - 32, 64, 0, 0);
                break;
            case "loop":
                frontend.WriteDescriptor(1, 0, buffer, 64, Next, 1);
                frontend.WriteDescriptor(1, 1, buffer, 64, Next, 0);
                break;
            case "next-outside":
                frontend.WriteDescriptor(1, 0, buffer, 64, Next, TestFrontend.QueueSize);
                break;
            case "head-outside":
                frontend.Publish(1, (ushort)(TestFrontend.QueueSize + 5));
                frontend.Kick(1);
                return;
            case "writable-in-tx":
                frontend.WriteDescriptor(1, 0, buffer, 64, Write, 0);
                break;
            case "nested-indirect":
                TestFrontend.WriteDescriptor(scratch, 0, table, 16, Indirect, 0);
                frontend.WriteDescriptor(1, 0, table, 16, Indirect, 0);
                break;
            case "indirect-outside":
                frontend.WriteDescriptor(1, 0, TestFrontend.GuestBase + TestFrontend.RegionSize - 16, 32, Indirect, 0);
                break;
            case "indirect-ragged":
                frontend.WriteDescriptor(1, 0, table, 24, Indirect, 0);
                break;
            default:
                frontend.SetAvailIndex(1, TestFrontend.QueueSize + 1);
                frontend.Kick(1);
                return;
        }

        frontend.Publish(1, 0);
        frontend.Kick(1);
    }
}
