using System.Buffers.Binary;
using UserBridge.Core.Frames;
using UserBridge.Core.Observers;
using UserBridge.Core.Offload;
using UserBridge.Core.Ports;
using UserBridge.Core.Switching;
using UserBridge.Core.Workers;

namespace UserBridge.Capture.Tests;

/// <summary>
/// Captures of a switch of memory ports, not started: frames run through the engine on the test's thread while the
/// capture's writer encodes them; the pcapng is read back block by block.
/// </summary>
public sealed class CaptureSessionTests : IDisposable
{
    private static readonly MacAddress A = new(0x0200_0000_0001);
    private static readonly MacAddress B = new(0x0200_0000_0002);
    private static readonly MacAddress C = new(0x0200_0000_0003);

    private readonly Bridge _bridge = new(new BridgeOptions());
    private readonly MemoryStream _pcapng = new();
    private readonly WorkerContext _context = new();

    public CaptureSessionTests()
    {
        for (var i = 1; i <= 3; i++)
        {
            _bridge.AddPort(new MemoryPort($"p{i}"));
        }
    }

    public void Dispose()
    {
        _context.Dispose();
        _bridge.Dispose();
        _pcapng.Dispose();
    }

    [Fact]
    public void EachPortIsAnInterfaceAndAFramesCopiesShareAPacketIdWithTheDecisionAsComment()
    {
        var file = Capture(new CaptureOptions(), () =>
        {
            Send(0, TestFrames.Ethernet(MacAddress.Broadcast, A));
            Send(1, TestFrames.Ethernet(A, B));
        });

        Assert.Equal(["p1", "p2", "p3"], file.Interfaces.Select(i => i.Name));
        Assert.All(file.Interfaces, i => Assert.Equal("memory " + i.Name, i.Description));
        Assert.Equal(
            ["p1 1 flood: broadcast", "p2 2 flood: broadcast", "p3 2 flood: broadcast", "p2 1 forward: learned on p1", "p1 2 forward: learned on p1"],
            file.Packets.Select(p => $"{file.NameOf(p)} {p.Direction} {p.Comment}"));
        Assert.Equal(3, file.Packets.Take(3).Select(p => p.PacketId).Distinct().Count() * 3);
        Assert.Equal(file.Packets[3].PacketId, file.Packets[4].PacketId);
        Assert.NotEqual(file.Packets[0].PacketId, file.Packets[3].PacketId);
        Assert.Equal(file.Packets[0].TimestampNs, file.Packets[1].TimestampNs);
        Assert.InRange(file.Packets[0].TimestampNs, (DateTime.UtcNow.AddMinutes(-5) - DateTime.UnixEpoch).Ticks * 100, (DateTime.UtcNow - DateTime.UnixEpoch).Ticks * 100);
    }

    [Fact]
    public void TheCaptureEndsWithStatisticsPerInterface()
    {
        var file = Capture(new CaptureOptions(), () => Send(0, TestFrames.Ethernet(MacAddress.Broadcast, A)));

        Assert.Equal(PcapngReader.SectionHeaderType, file.BlockTypes[0]);
        Assert.Equal([5u, 5u, 5u], file.BlockTypes.TakeLast(3));
        Assert.Equal([(0, 1UL, 0UL), (1, 1UL, 0UL), (2, 1UL, 0UL)], file.Stats.Select(s => (s.Interface, s.Received, s.Dropped)));
    }

    [Fact]
    public void PortsDirectionAndSnapLengthSelectWhatIsWritten()
    {
        var options = new CaptureOptions { Ports = new HashSet<string> { "p2" }, Direction = ObserverDirection.Out, SnapLength = 20 };
        var file = Capture(options, () => Send(0, TestFrames.Ethernet(MacAddress.Broadcast, A, payload: 100)));

        Assert.Equal(["p2"], file.Interfaces.Select(i => i.Name));
        var packet = Assert.Single(file.Packets);
        Assert.Equal((2, 20, 114), (packet.Direction, packet.Data.Length, packet.OriginalLength));
    }

    [Fact]
    public void DroppedFramesAreWrittenOnlyWhenAskedWithTheReason()
    {
        var without = Capture(new CaptureOptions(), () => Send(0, TestFrames.Ethernet(B, MacAddress.Broadcast)));
        Assert.Empty(without.Packets);

        _pcapng.SetLength(0);
        var with = Capture(new CaptureOptions { IncludeDrops = true }, () => Send(0, TestFrames.Ethernet(B, MacAddress.Broadcast)));
        var packet = Assert.Single(with.Packets);
        Assert.Equal(("p1", 1, "drop: multicast source address"), (with.NameOf(packet), packet.Direction, packet.Comment));
    }

    [Fact]
    public void APortAddedDuringTheCaptureGetsItsInterfaceBeforeItsFirstPacket()
    {
        var file = Capture(new CaptureOptions(), () =>
        {
            Send(0, TestFrames.Ethernet(MacAddress.Broadcast, A));
            _bridge.AddPort(new MemoryPort("late"));
            Send(3, TestFrames.Ethernet(MacAddress.Broadcast, C));
        });

        Assert.Equal(["p1", "p2", "p3", "late"], file.Interfaces.Select(i => i.Name));
        var firstLate = file.BlockTypes.IndexOf(PcapngReader.EnhancedPacketType, file.BlockTypes.LastIndexOf(PcapngReader.InterfaceDescriptionType));
        Assert.True(firstLate > file.BlockTypes.LastIndexOf(PcapngReader.InterfaceDescriptionType));
        Assert.Equal("late", file.NameOf(file.Packets.First(p => p.Direction == 1 && p.Interface == 3)));
    }

    [Fact]
    public void ABpfFilterKeepsOnlyMatchingFramesAndABadOneIsRefusedWithLibpcapsMessage()
    {
        var file = Capture(new CaptureOptions { Filter = "arp", Direction = ObserverDirection.In }, () =>
        {
            Send(0, TestFrames.Ethernet(MacAddress.Broadcast, A, etherType: 0x0806));
            Send(1, TestFrames.Ethernet(MacAddress.Broadcast, B, etherType: 0x0800));
        });
        Assert.Equal([0x0806], file.Packets.Select(p => BinaryPrimitives.ReadUInt16BigEndian(p.Data.AsSpan(12))));

        var error = Assert.Throws<CaptureException>(() => CaptureSession.Start(9, _bridge, new CaptureOptions { Filter = "icmp or arpp" }, new StreamCaptureOutput(_pcapng, "test")));
        Assert.Contains("filter \"icmp or arpp\"", error.Message, StringComparison.Ordinal);
        Assert.Contains("syntax error", error.Message, StringComparison.Ordinal);
        Assert.Null(_bridge.Snapshot.Taps);
    }

    [Fact]
    public void AnUnknownPortIsRefusedNamingTheKnownOnes()
    {
        var error = Assert.Throws<CaptureException>(() => CaptureSession.Start(1, _bridge, new CaptureOptions { Ports = new HashSet<string> { "nope" } }, new StreamCaptureOutput(_pcapng, "test")));
        Assert.Equal("no port named 'nope'; ports: p1, p2, p3", error.Message);
    }

    [Fact]
    public async Task TheCaptureStopsByItselfAfterItsCount()
    {
        using var session = CaptureSession.Start(1, _bridge, new CaptureOptions { MaxPackets = 2 }, new StreamCaptureOutput(_pcapng, "test"));
        for (var i = 0; i < 5; i++)
        {
            Send(0, TestFrames.Ethernet(MacAddress.Broadcast, A));
        }

        await session.Completion.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        Assert.Equal("packet count reached", session.EndReason);
        Assert.Equal(2, CaptureFile.Parse(_pcapng.ToArray()).Packets.Count);
        Assert.Null(_bridge.Snapshot.Taps);
    }

    [Fact]
    public async Task AFullRingDropsCopiesNotFramesAndCountsThemPerPort()
    {
        using var stalled = new StalledStream();
        using var session = CaptureSession.Start(1, _bridge, new CaptureOptions { RingCapacity = 4, Direction = ObserverDirection.In }, new StreamCaptureOutput(stalled, "stalled"));
        stalled.Stall();
        var frames = 200;
        for (var i = 0; i < frames; i++)
        {
            Send(0, TestFrames.Ethernet(MacAddress.Broadcast, A, payload: 2000));
        }

        var p2 = (MemoryPort)_bridge.Snapshot.Ports[1]!.Port;
        Assert.Equal(frames, p2.SentCount);
        Assert.InRange(session.Dropped, frames - 80, frames);
        Assert.Equal(session.Dropped, _bridge.Snapshot.Ports[0]!.Counters.CaptureDrops);

        stalled.Release();
        session.Stop();
        await session.Completion.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        var file = CaptureFile.Parse(stalled.ToArray());
        var p1 = file.Stats.Single(s => file.Interfaces[s.Interface].Name == "p1");
        Assert.Equal((ulong)session.Dropped, p1.Dropped);
        Assert.Equal((ulong)file.Packets.Count, p1.Received);
        Assert.Equal(frames, file.Packets.Count + (int)session.Dropped);
    }

    private void Send(int port, byte[] frame) => _bridge.Engine.Process(_bridge.Snapshot, port, frame, VirtioNetHeader.None, _context, _bridge.MacTable.NowMs);

    private CaptureFile Capture(CaptureOptions options, Action traffic)
    {
        using var session = CaptureSession.Start(1, _bridge, options, new StreamCaptureOutput(_pcapng, "test"));
        traffic();
        session.Stop();
        Assert.True(session.Completion.Wait(TimeSpan.FromSeconds(10)), "the capture did not end");
        Assert.Null(_bridge.Snapshot.Taps);
        return CaptureFile.Parse(_pcapng.ToArray());
    }

    /// <summary>A reader that stops reading: after <see cref="Stall"/>, writes block until <see cref="Release"/>.</summary>
    private sealed class StalledStream : MemoryStream
    {
        private readonly ManualResetEventSlim _released = new(true);

        public void Stall() => _released.Reset();

        public void Release() => _released.Set();

        public override void Write(byte[] buffer, int offset, int count)
        {
            _released.Wait();
            base.Write(buffer, offset, count);
        }

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            _released.Wait();
            base.Write(buffer);
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _released.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
