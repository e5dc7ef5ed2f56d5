
namespace UserBridge.Capture.Tests;

/// <summary>
/// The written file read by the real peers: Debian's tshark (the Wireshark dissectors) and tcpdump (libpcap's
/// pcapng reader, which needs every interface to share one link type).
/// </summary>
public sealed class PcapngReadersTests : IDisposable
{
    private const int SnapLengthBytes = 128;
    private const string LearnedComment = "forward: learned on p2 vlan 10";
    private const string DropComment = "drop: vlan 20 not allowed on trunk p4";

    private readonly string _directory = Directory.CreateTempSubdirectory("userbridge-capture-").FullName;
    private readonly string _file;

    public PcapngReadersTests()
    {
        _file = Path.Combine(_directory, "ub0.pcapng");
        using var stream = File.Create(_file);
        var writer = new PcapngWriter(stream);
        var p1 = writer.AddInterface("p1", "tap ub-p1", SnapLengthBytes);
        var p2 = writer.AddInterface("p2", "socket /run/ub0/p2.sock", SnapLengthBytes);
        var small = EthernetFrame(60);
        var large = EthernetFrame(1514);
        const long startNs = 1_700_000_000_000_000_000;
        writer.WritePacket(p1, startNs + 1_000, small, small.Length, PacketDirection.Inbound, 1, LearnedComment);
        writer.WritePacket(p2, startNs + 2_000, small, small.Length, PacketDirection.Outbound, 1, LearnedComment);
        writer.WritePacket(p1, startNs + 3_000, large, large.Length, PacketDirection.Inbound, 2, DropComment);
        writer.WriteStatistics(p1, startNs, startNs + 4_000, 2, 0);
        writer.WriteStatistics(p2, startNs, startNs + 4_000, 1, 5);
        writer.Flush();
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void TsharkReportsEachPacketsPortDirectionCommentAndLengths()
    {
        ExternalTools.Require("tshark");

        var lines = Tshark(
            "-T", "fields", "-E", "separator=|",
            "-e", "frame.interface_name", "-e", "frame.comment", "-e", "frame.packet_flags_direction",
            "-e", "frame.len", "-e", "frame.cap_len", "-e", "frame.packet_id");

        Assert.Equal(
            [
                $"p1|{LearnedComment}|0x00000001|60|60|1",
                $"p2|{LearnedComment}|0x00000002|60|60|1",
                $"p1|{DropComment}|0x00000001|1514|{SnapLengthBytes}|2",
            ],
            lines);
    }

    [Fact]
    public void TsharkDetailShowsThePacketCommentsAndDirections()
    {
        ExternalTools.Require("tshark");

        var detail = ExternalTools.Run("tshark", "-n", "-r", _file, "-V");

        Assert.Contains($"Packet comments\n    {LearnedComment}\n", detail, StringComparison.Ordinal);
        Assert.Contains($"Packet comments\n    {DropComment}\n", detail, StringComparison.Ordinal);
        Assert.Contains("on interface p1, id 0 (inbound)", detail, StringComparison.Ordinal);
        Assert.Contains("on interface p2, id 1 (outbound)", detail, StringComparison.Ordinal);
    }

    [Fact]
    public void TsharkShowsTheInterfaceDescriptionsAndNanosecondResolution()
    {
        ExternalTools.Require("tshark");

        var lines = Tshark(
            "-T", "fields", "-E", "separator=|", "-e", "frame.interface_description", "-e", "frame.time_epoch");

        Assert.Equal(
            [
                "tap ub-p1|1700000000.000001000",
                "socket /run/ub0/p2.sock|1700000000.000002000",
                "tap ub-p1|1700000000.000003000",
            ],
            lines);
    }

    [Fact]
    public void TcpdumpReadsEveryPacket()
    {
        ExternalTools.Require("tcpdump");

        var output = ExternalTools.Run("tcpdump", "-n", "-r", _file);

        // tcpdump follows each summary line with a hex dump of the unknown EtherType's payload.
        var summaries = output.Split('\n').Where(line => line.Contains(" > ", StringComparison.Ordinal)).ToArray();
        Assert.Equal(3, summaries.Length);
        Assert.All(summaries, line => Assert.Contains("02:00:00:00:00:01 > 02:00:00:00:00:02, ethertype Unknown (0x88b5)", line, StringComparison.Ordinal));
        Assert.EndsWith("length 60: ", summaries[0], StringComparison.Ordinal);
        Assert.EndsWith("length 1514: ", summaries[2], StringComparison.Ordinal);
    }

    private string[] Tshark(params string[] arguments) =>
        ExternalTools.Run("tshark", ["-n", "-r", _file, .. arguments])
            .Split('\n', StringSplitOptions.RemoveEmptyEntries);

    /// <summary>An Ethernet frame from 02:00:00:00:00:01 to 02:00:00:00:00:02, EtherType 0x88B5 (local experimental).</summary>
    private static byte[] EthernetFrame(int lengthBytes)
    {
        var frame = new byte[lengthBytes];
        frame[0] = 0x02;
        frame[5] = 0x02;
        frame[6] = 0x02;
        frame[11] = 0x01;
        frame[12] = 0x88;
        frame[13] = 0xB5;
        return frame;
    }
}
