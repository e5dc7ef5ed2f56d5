using System.Text;
using UserBridge.Tests.Shared;

namespace UserBridge.Capture.Tests;

public sealed class PcapngWriterTests
{
    private const int SectionHeaderBytes = 48;
    private const int FirstInterfaceBytes = 56;

    // Hand-worked from draft-ietf-opsawg-pcapng, little-endian. Spaces separate fields.
    private const string SectionHeaderHex =
        "0A0D0D0A 30000000 4D3C2B1A 0100 0000 FFFFFFFFFFFFFFFF" +
        " 0400 0A00 55736572427269646765 0000" +
        " 0000 0000 30000000";

    private const string InterfaceHex =
        "01000000 38000000 0100 0000 FFFF0000" +
        " 0200 0200 7031 0000" +
        " 0300 0900 7461702075622D7031 000000" +
        " 0900 0100 09 000000" +
        " 0000 0000 38000000";

    private const string PacketHex =
        "06000000 48000000 00000000 67452301 EFCDAB89 05000000 3C000000 AABBCCDDEE 000000" +
        " 0100 0400 64726F70" +
        " 0200 0400 02000000" +
        " 0500 0800 8877665544332211" +
        " 0000 0000 48000000";

    private const string StatisticsHex =
        "05000000 4C000000 00000000 01000000 00863BA1" +
        " 0200 0800 01000000 00F2052A" +
        " 0300 0800 01000000 00863BA1" +
        " 0400 0800 2A00000000000000" +
        " 0500 0800 0300000000000000" +
        " 0000 0000 4C000000";

    [Fact]
    public void SectionHeaderMatchesTheHandWorkedBytes()
    {
        using var stream = new MemoryStream();
        _ = new PcapngWriter(stream);

        Assert.Equal(Hex(SectionHeaderHex), stream.ToArray());
    }

    [Fact]
    public void InterfaceDescriptionMatchesTheHandWorkedBytes()
    {
        using var stream = new MemoryStream();
        var writer = new PcapngWriter(stream);

        var interfaceId = writer.AddInterface("p1", "tap ub-p1", 65535);

        Assert.Equal(0, interfaceId);
        Assert.Equal(Hex(InterfaceHex), stream.ToArray()[SectionHeaderBytes..]);
    }

    [Fact]
    public void EnhancedPacketMatchesTheHandWorkedBytes()
    {
        using var stream = new MemoryStream();
        var writer = new PcapngWriter(stream);
        writer.AddInterface("p1", "tap ub-p1", 65535);

        writer.WritePacket(0, 0x0123456789ABCDEF, [0xAA, 0xBB, 0xCC, 0xDD, 0xEE], 60, PacketDirection.Outbound, 0x1122334455667788, "drop");

        Assert.Equal(Hex(PacketHex), stream.ToArray()[(SectionHeaderBytes + FirstInterfaceBytes)..]);
    }

    [Fact]
    public void InterfaceStatisticsMatchTheHandWorkedBytes()
    {
        using var stream = new MemoryStream();
        var writer = new PcapngWriter(stream);
        writer.AddInterface("p1", "tap ub-p1", 65535);

        writer.WriteStatistics(0, 5_000_000_000, 7_000_000_000, 42, 3);

        Assert.Equal(Hex(StatisticsHex), stream.ToArray()[(SectionHeaderBytes + FirstInterfaceBytes)..]);
    }

    [Fact]
    public void ReadsBackEveryBlockWithItsOptions()
    {
        using var stream = new MemoryStream();
        var writer = new PcapngWriter(stream);
        Assert.Equal(0, writer.AddInterface("p1", "tap ub-p1", 1518));
        Assert.Equal(1, writer.AddInterface("p2", "socket /run/ub0/p2.sock", 1518));
        writer.WritePacket(1, 1_700_000_000_123_456_789, new byte[61], 61, PacketDirection.Inbound, 7, "forward: learned on p2 vlan 10");
        writer.WriteStatistics(1, 1_700_000_000_000_000_000, 1_700_000_001_000_000_000, 1, 0);

        var blocks = PcapngReader.ReadBlocks(stream.ToArray());

        Assert.Equal(
            [PcapngReader.SectionHeaderType, PcapngReader.InterfaceDescriptionType, PcapngReader.InterfaceDescriptionType,
                PcapngReader.EnhancedPacketType, PcapngReader.InterfaceStatisticsType],
            blocks.Select(block => block.Type));
        var secondInterface = PcapngReader.ReadOptions(blocks[2], 8);
        Assert.Equal([(ushort)2, (ushort)3, (ushort)9], secondInterface.Select(option => option.Code));
        Assert.Equal("socket /run/ub0/p2.sock", Encoding.UTF8.GetString(secondInterface[1].Value));

        var packet = blocks[3];
        Assert.Equal(1u, PcapngReader.UInt32(packet.Body, 0));
        Assert.Equal(1_700_000_000_123_456_789, PcapngReader.Timestamp(packet.Body, 4));
        Assert.Equal(61u, PcapngReader.UInt32(packet.Body, 12));
        var packetOptions = PcapngReader.ReadOptions(packet, 20 + 64);
        Assert.Equal([(ushort)1, (ushort)2, (ushort)5], packetOptions.Select(option => option.Code));
        Assert.Equal("forward: learned on p2 vlan 10", Encoding.UTF8.GetString(packetOptions[0].Value));
        Assert.Equal((uint)PacketDirection.Inbound, PcapngReader.UInt32(packetOptions[1].Value, 0));
        Assert.Equal(7ul, PcapngReader.UInt64(packetOptions[2].Value));

        var statistics = PcapngReader.ReadOptions(blocks[4], 12);
        Assert.Equal([(ushort)2, (ushort)3, (ushort)4, (ushort)5], statistics.Select(option => option.Code));
        Assert.Equal(1_700_000_000_000_000_000, PcapngReader.Timestamp(statistics[0].Value, 0));
        Assert.Equal(1_700_000_001_000_000_000, PcapngReader.Timestamp(statistics[1].Value, 0));
    }

    [Fact]
    public void CutsAFrameToTheSnapLengthAndKeepsItsOriginalLength()
    {
        using var stream = new MemoryStream();
        var writer = new PcapngWriter(stream);
        writer.AddInterface("p1", "tap ub-p1", 64);

        writer.WritePacket(0, 1, new byte[1514], 1514, PacketDirection.Outbound, 1, null);

        var packet = PcapngReader.ReadBlocks(stream.ToArray())[2];
        Assert.Equal(64u, PcapngReader.UInt32(packet.Body, 12));
        Assert.Equal(1514u, PcapngReader.UInt32(packet.Body, 16));
        Assert.Equal([(ushort)2, (ushort)5], PcapngReader.ReadOptions(packet, 20 + 64).Select(option => option.Code));
    }

    [Fact]
    public void EncodesACommentInUtf8()
    {
        using var stream = new MemoryStream();
        var writer = new PcapngWriter(stream);
        writer.AddInterface("p1", "tap ub-p1", 1518);

        writer.WritePacket(0, 1, new byte[60], 60, PacketDirection.Inbound, 1, "drop: vlan 20 not allowed on trunk p4 — ü");

        var packet = PcapngReader.ReadBlocks(stream.ToArray())[2];
        Assert.Equal("drop: vlan 20 not allowed on trunk p4 — ü", Encoding.UTF8.GetString(PcapngReader.ReadOptions(packet, 80)[0].Value));
    }

    [Fact]
    public void WritingAPacketAllocatesNothing()
    {
        var writer = new PcapngWriter(Stream.Null);
        writer.AddInterface("p1", "tap ub-p1", 1518);
        var frame = new byte[1514];
        const string comment = "flood: unknown unicast vlan 10";
        writer.WritePacket(0, 1, frame, frame.Length, PacketDirection.Inbound, 1, comment);

        var packetId = 1ul;
        var allocated = Allocations.PerAttempt(
            () => writer.WritePacket(0, (long)packetId, frame, frame.Length, PacketDirection.Outbound, packetId++, comment),
            rounds: 1000);

        Assert.Equal(0, allocated);
    }

    [Fact]
    public void RefusesAnInterfaceThatWasNeverAdded()
    {
        var writer = new PcapngWriter(Stream.Null);
        writer.AddInterface("p1", "tap ub-p1", 1518);

        Assert.Throws<ArgumentOutOfRangeException>(() => writer.WritePacket(1, 1, new byte[60], 60, PacketDirection.Inbound, 1, null));
        Assert.Throws<ArgumentOutOfRangeException>(() => writer.WriteStatistics(-1, 0, 1, 0, 0));
    }

    [Fact]
    public void RefusesAnOriginalLengthShorterThanTheFrame()
    {
        var writer = new PcapngWriter(Stream.Null);
        writer.AddInterface("p1", "tap ub-p1", 1518);

        Assert.Throws<ArgumentOutOfRangeException>(() => writer.WritePacket(0, 1, new byte[60], 59, PacketDirection.Inbound, 1, null));
    }

    [Fact]
    public void RefusesACommentLongerThanAnOption()
    {
        var writer = new PcapngWriter(Stream.Null);
        writer.AddInterface("p1", "tap ub-p1", 1518);

        Assert.Throws<ArgumentException>(() => writer.WritePacket(0, 1, new byte[60], 60, PacketDirection.Inbound, 1, new string('x', 65536)));
    }

    private static byte[] Hex(string spacedHex) => Convert.FromHexString(spacedHex.Replace(" ", "", StringComparison.Ordinal));
}
