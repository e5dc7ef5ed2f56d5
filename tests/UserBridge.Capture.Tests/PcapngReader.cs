using System.Buffers.Binary;

namespace UserBridge.Capture.Tests;

/// <summary>
/// A small little-endian pcapng reader for the tests: it splits a file into blocks and a block's options into TLVs,
/// asserting the framing rules as it goes (32-bit alignment, the total length at both ends, zero padding,
/// opt_endofopt last).
/// </summary>
internal static class PcapngReader
{
    public const uint SectionHeaderType = 0x0A0D0D0A;
    public const uint InterfaceDescriptionType = 1;
    public const uint InterfaceStatisticsType = 5;
    public const uint EnhancedPacketType = 6;

    public static List<PcapngBlock> ReadBlocks(byte[] file)
    {
        var blocks = new List<PcapngBlock>();
        var offset = 0;
        while (offset < file.Length)
        {
            var type = BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(offset));
            var totalBytes = (int)BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(offset + 4));
            Assert.True(totalBytes % 4 == 0, $"block at {offset} is {totalBytes} bytes, not a multiple of 4");
            Assert.True(offset + totalBytes <= file.Length, $"block at {offset} runs past the end of the file");
            var trailingBytes = (int)BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(offset + totalBytes - 4));
            Assert.Equal(totalBytes, trailingBytes);
            blocks.Add(new PcapngBlock(type, totalBytes, file.AsSpan(offset + 8, totalBytes - 12).ToArray()));
            offset += totalBytes;
        }

        return blocks;
    }

    /// <summary>The options of <paramref name="block"/>, which start after its <paramref name="fixedBytes"/> of fixed fields.</summary>
    public static List<PcapngOption> ReadOptions(PcapngBlock block, int fixedBytes)
    {
        var options = new List<PcapngOption>();
        var body = block.Body.AsSpan(fixedBytes);
        while (true)
        {
            var code = BinaryPrimitives.ReadUInt16LittleEndian(body);
            var valueBytes = BinaryPrimitives.ReadUInt16LittleEndian(body[2..]);
            if (code == 0)
            {
                Assert.Equal(0, valueBytes);
                Assert.Equal(4, body.Length);
                return options;
            }

            var paddedBytes = (valueBytes + 3) & ~3;
            Assert.All(body.Slice(4 + valueBytes, paddedBytes - valueBytes).ToArray(), padding => Assert.Equal(0, padding));
            options.Add(new PcapngOption(code, body.Slice(4, valueBytes).ToArray()));
            body = body[(4 + paddedBytes)..];
        }
    }

    public static uint UInt32(byte[] bytes, int offset) => BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(offset));

    public static ulong UInt64(byte[] bytes) => BinaryPrimitives.ReadUInt64LittleEndian(bytes);

    /// <summary>A pcapng timestamp: high 32 bits, then low 32 bits.</summary>
    public static long Timestamp(byte[] bytes, int offset) =>
        (long)(((ulong)UInt32(bytes, offset) << 32) | UInt32(bytes, offset + 4));
}
