using UserBridge.Core.Frames;
using UserBridge.Core.Observers;
using UserBridge.Core.Offload;
using UserBridge.Core.Ports;
using UserBridge.Core.Switching;
using UserBridge.Core.Workers;


namespace UserBridge.Capture.Tests;

/// <summary>Rotating files, the relay that passes a stream on, and the decision texts of a VLAN-aware switch.</summary>
public sealed class CaptureOutputTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("ub-capture-").FullName;
    private readonly WorkerContext _context = new();

    public void Dispose()
    {
        _context.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task RotationKeepsAtMostKeepFilesEachAWholeReadableSection()
    {
        using var bridge = TwoPortBridge();
        using (var session = CaptureSession.Start(1, bridge, new CaptureOptions(), new FileCaptureOutput(Path.Combine(_directory, "ub0.pcapng"), rotateBytes: 4096, keepFiles: 3)))
        {
            for (var i = 0; i < 200; i++)
            {
                Send(bridge, 0, TestFrames.Ethernet(MacAddress.Broadcast, new MacAddress(0x0200_0000_0001), payload: 200));
            }

            session.Stop();
            await session.Completion.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        }

        var files = Directory.GetFiles(_directory).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(3, files.Count);
        Assert.All(files, file => Assert.Matches(@"ub0_\d{5}_\d{14}\.pcapng$", file));
        foreach (var file in files)
        {
            var capture = CaptureFile.Parse(File.ReadAllBytes(file));
            Assert.Equal(["p1", "p2"], capture.Interfaces.Select(i => i.Name));
            Assert.NotEmpty(capture.Packets);
            Assert.All(capture.Packets, packet => Assert.Equal("flood: broadcast", packet.Comment));
            Assert.Equal(PcapngReader.InterfaceStatisticsType, capture.BlockTypes[^1]);
            Assert.Equal((ulong)capture.Packets.Count, capture.Stats.Aggregate(0UL, (sum, s) => sum + s.Received));
        }

        // tshark prints a line per packet: empty for a packet without a comment, the comments joined by commas for one
        // with several.
        ExternalTools.Require("tshark");
        var comments = ExternalTools.Run("tshark", "-r", files[^1], "-T", "fields", "-e", "frame.comment").TrimEnd('\n').Split('\n');
        Assert.Equal(CaptureFile.Parse(File.ReadAllBytes(files[^1])).Packets.Count, comments.Length);
        Assert.All(comments, comment => Assert.Equal("flood: broadcast", comment));
    }

    [Fact]
    public async Task TheRelayPassesEveryBlockOnAndCountsPacketsAndReportedDrops()
    {
        using var bridge = TwoPortBridge();
        using var source = new MemoryStream();
        using (var session = CaptureSession.Start(1, bridge, new CaptureOptions(), new StreamCaptureOutput(source, "test")))
        {
            Send(bridge, 0, TestFrames.Ethernet(MacAddress.Broadcast, new MacAddress(0x0200_0000_0001)));
            session.Stop();
            await session.Completion.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        }

        source.Position = 0;
        using var destination = new MemoryStream();
        var relay = new PcapngRelay();
        relay.Run(source, destination, () => true);

        Assert.Equal(source.ToArray(), destination.ToArray());
        Assert.Equal((2, 0, source.Length), (relay.Packets, relay.Dropped, relay.Bytes));
        Assert.Throws<InvalidDataException>(() => new PcapngRelay().Run(new MemoryStream([1, 2, 3, 4, 5, 0, 0, 0]), Stream.Null, () => true));
    }

    [Fact]
    public async Task VlanDecisionsAreWrittenInWords()
    {
        using var bridge = new Bridge(new BridgeOptions());
        bridge.AddPort(new MemoryPort("p1"), isUp: true, PortVlan.Access(10));
        bridge.AddPort(new MemoryPort("p2"), isUp: true, PortVlan.Access(10));
        bridge.AddPort(new MemoryPort("p4"), isUp: true, PortVlan.Trunk([10]));
        using var output = new MemoryStream();
        var a = new MacAddress(0x0200_0000_0001);
        var b = new MacAddress(0x0200_0000_0002);
        using (var session = CaptureSession.Start(1, bridge, new CaptureOptions { IncludeDrops = true, Direction = ObserverDirection.In }, new StreamCaptureOutput(output, "test")))
        {
            Send(bridge, 0, TestFrames.Ethernet(b, a));
            Send(bridge, 1, TestFrames.Ethernet(a, b));
            Send(bridge, 2, TestFrames.Ethernet(a, b, vlan: 20));
            session.Stop();
            await session.Completion.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        }

        Assert.Equal(
            ["flood: unknown unicast vlan 10", "forward: learned on p1 vlan 10", "drop: vlan 20 not allowed on trunk p4"],
            CaptureFile.Parse(output.ToArray()).Packets.Select(p => p.Comment));
    }

    private static Bridge TwoPortBridge()
    {
        var bridge = new Bridge(new BridgeOptions());
        bridge.AddPort(new MemoryPort("p1"));
        bridge.AddPort(new MemoryPort("p2"));
        return bridge;
    }

    private void Send(Bridge bridge, int port, byte[] frame) => bridge.Engine.Process(bridge.Snapshot, port, frame, VirtioNetHeader.None, _context, bridge.MacTable.NowMs);
}
