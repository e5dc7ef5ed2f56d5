using System.Text;

namespace UserBridge.Capture.Tests;

/// <summary>A whole pcapng capture as read back: interfaces, packets and statistics, in file order.</summary>
internal sealed record CaptureFile(List<CaptureFile.Interface> Interfaces, List<CaptureFile.Packet> Packets, List<CaptureFile.Statistics> Stats, List<uint> BlockTypes)
{
    public static CaptureFile Parse(byte[] bytes)
    {
        var interfaces = new List<Interface>();
        var packets = new List<Packet>();
        var stats = new List<Statistics>();
        var types = new List<uint>();
        foreach (var block in PcapngReader.ReadBlocks(bytes))
        {
            types.Add(block.Type);
            switch (block.Type)
            {
                case PcapngReader.InterfaceDescriptionType:
                    var idbOptions = PcapngReader.ReadOptions(block, 8);
                    interfaces.Add(new Interface(Text(idbOptions, 2), Text(idbOptions, 3), (int)PcapngReader.UInt32(block.Body, 4)));
                    break;
                case PcapngReader.EnhancedPacketType:
                    var captured = (int)PcapngReader.UInt32(block.Body, 12);
                    var epbOptions = PcapngReader.ReadOptions(block, 20 + ((captured + 3) & ~3));
                    packets.Add(new Packet(
                        (int)PcapngReader.UInt32(block.Body, 0),
                        PcapngReader.Timestamp(block.Body, 4),
                        block.Body.AsSpan(20, captured).ToArray(),
                        (int)PcapngReader.UInt32(block.Body, 16),
                        (int)PcapngReader.UInt32(epbOptions.Single(option => option.Code == 2).Value, 0),
                        PcapngReader.UInt64(epbOptions.Single(option => option.Code == 5).Value),
                        [.. epbOptions.Where(option => option.Code == 1).Select(option => Encoding.UTF8.GetString(option.Value))]));
                    break;
                case PcapngReader.InterfaceStatisticsType:
                    var isbOptions = PcapngReader.ReadOptions(block, 12);
                    stats.Add(new Statistics(
                        (int)PcapngReader.UInt32(block.Body, 0),
                        PcapngReader.UInt64(isbOptions.Single(option => option.Code == 4).Value),
                        PcapngReader.UInt64(isbOptions.Single(option => option.Code == 5).Value)));
                    break;
            }
        }

        return new CaptureFile(interfaces, packets, stats, types);
    }

    public string NameOf(Packet packet) => Interfaces[packet.Interface].Name;

    private static string Text(List<PcapngOption> options, ushort code) =>
        options.FirstOrDefault(option => option.Code == code) is { } option ? Encoding.UTF8.GetString(option.Value) : string.Empty;

    public sealed record Interface(string Name, string Description, int SnapLength);

    /// <summary>A packet: direction 1 inbound, 2 outbound (epb_flags), and its comments (opt_comment) in file order.</summary>
    public sealed record Packet(int Interface, long TimestampNs, byte[] Data, int OriginalLength, int Direction, ulong PacketId, IReadOnlyList<string> Comments)
    {
        /// <summary>The packet's one comment (the switch's decision); fails the test when it has none or more than one.</summary>
        public string Comment
        {
            get
            {
                Assert.True(Comments.Count == 1, $"packet {PacketId} has {Comments.Count} comments, not one: {string.Join(" | ", Comments)}");
                return Comments[0];
            }
        }
    }

    public sealed record Statistics(int Interface, ulong Received, ulong Dropped);
}
