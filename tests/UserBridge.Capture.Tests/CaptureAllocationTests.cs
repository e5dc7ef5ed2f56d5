using UserBridge.Core.Forwarding;
using UserBridge.Core.Frames;
using UserBridge.Core.Offload;
using UserBridge.Core.Ports;
using UserBridge.Core.Switching;
using UserBridge.Core.Workers;
using UserBridge.Tests.Shared;

namespace UserBridge.Capture.Tests;

/// <summary>
/// The README's "no allocation per frame" with a capture attached: a worker (here the test's thread, with a
/// <see cref="WorkerContext"/> of its own) that offers every frame's ingress and egress copies to a capture allocates
/// nothing, with or without a BPF filter; the capture's writer thread takes the copies meanwhile.
/// </summary>
public sealed class CaptureAllocationTests : IDisposable
{
    private const int Rounds = 1000;

    private static readonly MacAddress A = new(0x0200_0000_000A);
    private static readonly MacAddress B = new(0x0200_0000_000B);

    private readonly Bridge _bridge = new(new BridgeOptions());
    private readonly WorkerContext _context = new();
    private readonly MemoryPort[] _ports = [new("p1", keepSent: false), new("p2", keepSent: false), new("p3", keepSent: false)];

    public CaptureAllocationTests()
    {
        foreach (var port in _ports)
        {
            _bridge.AddPort(port);
        }
    }

    public void Dispose()
    {
        _bridge.Dispose();
        _context.Dispose();
    }

    [Theory]
    [InlineData(null)]
    [InlineData("ether src 02:00:00:00:00:0a or ether src 02:00:00:00:00:0b")]
    public async Task ForwardingAndFloodingWithACaptureAttachedAllocatesNothing(string? filter)
    {
        var toB = TestFrames.Ethernet(B, A);
        var toA = TestFrames.Ethernet(A, B);
        var broadcast = TestFrames.Ethernet(MacAddress.Broadcast, A);
        using var session = CaptureSession.Start(1, _bridge, new CaptureOptions { Filter = filter }, new StreamCaptureOutput(Stream.Null, "test"));
        Send(1, TestFrames.Ethernet(MacAddress.Broadcast, B));
        for (var i = 0; i < 100; i++)
        {
            Send(0, toB);
            Send(1, toA);
            Send(0, broadcast);
        }

        var sentBefore = _ports.Sum(port => port.SentCount);
        var allocated = Allocations.PerAttempt(
            () =>
            {
                Send(0, toB);
                Send(1, toA);
                Send(0, broadcast);
            },
            Rounds);
        var sent = _ports.Sum(port => port.SentCount) - sentBefore;
        session.Stop();
        await session.Completion.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);

        Assert.True(allocated == 0, $"{allocated} bytes allocated in {Rounds} rounds");

        // Each round: two forwarded frames and a flood to two ports; the capture took copies of them (or counted the
        // ones its ring had no room for).
        Assert.True(sent >= 4 * Rounds && sent % 4 == 0, $"{sent} frames sent");
        Assert.True(session.Written + session.Dropped >= sent, session.Summary());
        Assert.True(session.Written > 0, session.Summary());
    }

    private void Send(int ingress, byte[] frame)
    {
        var decision = _bridge.Engine.Process(_bridge.Snapshot, ingress, frame, VirtioNetHeader.None, _context, _bridge.MacTable.NowMs);
        if (decision.Action == ForwardingAction.Drop)
        {
            throw new InvalidOperationException($"the frame from port {ingress} was dropped: {decision.DropReason}");
        }
    }
}
