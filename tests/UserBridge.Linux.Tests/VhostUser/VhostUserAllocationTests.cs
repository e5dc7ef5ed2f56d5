using Tmds.Linux;
using UserBridge.Core.Buffers;
using UserBridge.Core.Offload;
using UserBridge.Linux.Ports.VhostUser;
using UserBridge.Tests.Shared;

namespace UserBridge.Linux.Tests.VhostUser;

/// <summary>
/// The vhost-user data path allocates nothing per frame: a frame taken from the guest's transmit queue into a frame
/// buffer, and a frame put into its receive queue, with the rings' bookkeeping, notifications and kicks included.
/// </summary>
public sealed class VhostUserAllocationTests
{
    private const int Rounds = 1000;

    [Fact]
    public void TakingAndPuttingFramesAllocatesNothing()
    {
        using var frontend = new TestFrontend();
        using var memory = GuestMemory.Map(TestFrontend.MemoryTable(), [LibC.dup(frontend.MemFd)]);
        const ulong Features = TestFrontend.DefaultFeatures;
        var rings = Enumerable.Range(0, 2).Select(queue => new VhostUserRing(
            queue,
            new SplitQueue(memory, TestFrontend.QueueSize, TestFrontend.FrontendBase + TestFrontend.DescriptorsOffset(queue), TestFrontend.FrontendBase + TestFrontend.AvailOffset(queue), TestFrontend.FrontendBase + TestFrontend.UsedOffset(queue), 0, eventIndex: true, indirect: true, VhostUserQueues.HeaderSizeFor(Features)),
            frontend.KickFd(queue),
            frontend.CallFd(queue))).ToArray();
        using var port = new VhostUserPort("vm", "/test/vm.sock", new VhostUserQueues(Features, [rings[0]], [rings[1]]));
        var pool = new BufferPool();
        var batch = pool.RentBatch(32);
        var frame = VhostUserLab.Frame(VhostUserLab.Host1, VhostUserLab.Guest, 1000);
        var offload = new VirtioNetHeader(VirtioNetHeader.FlagNeedsChecksum, VirtioNetHeader.GsoNone, 54, 0, 34, 16);
        var taken = 0L;

        void Round()
        {
            frontend.Transmit(frame);
            taken += port.TryReceive(batch, 0);
            frontend.PostReceiveBuffers(1);
            Assert.True(port.Send(frame, offload));
        }

        Round();
        var allocated = Allocations.PerAttempt(Round, Rounds);

        Assert.Equal(0, allocated);
        Assert.True(taken >= Rounds, $"only {taken} frames were taken from the guest");
        pool.ReturnBatch(batch);
    }
}
