using System.Buffers.Binary;

namespace UserBridge.Capture;

/// <summary>
/// Passes a pcapng stream on block by block (from the switch to a file, stdout, a FIFO or a TCP client), flushing
/// whenever the source has nothing more ready so a live reader sees each packet at once, and counting what goes by:
/// packets (Enhanced Packet Blocks) and the drops the capture reported in its Interface Statistics Blocks.
/// </summary>
public sealed class PcapngRelay
{
    private const uint InterfaceStatisticsBlockType = 5;
    private const uint EnhancedPacketBlockType = 6;
    private const ushort DroppedFramesCode = 5;
    private const int MaxBlockBytes = 16 * 1024 * 1024;

    private long _packets;
    private long _bytes;
    private long _dropped;

    public long Packets => Interlocked.Read(ref _packets);

    public long Bytes => Interlocked.Read(ref _bytes);

    /// <summary>The sum of <c>isb_ifdrop</c> over the statistics blocks seen (known once the capture has ended).</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>
    /// Copies until the source ends. <paramref name="sourceIdle"/> says whether the source has nothing more ready (then
    /// the destination is flushed). Throws <see cref="InvalidDataException"/> on a stream that is not pcapng.
    /// </summary>
    public void Run(Stream source, Stream destination, Func<bool> sourceIdle)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(destination);
        ArgumentNullException.ThrowIfNull(sourceIdle);
        var block = new byte[64 * 1024];
        while (true)
        {
            if (!ReadFully(source, block.AsSpan(0, 8), atBlockStart: true))
            {
                destination.Flush();
                return;
            }

            var type = BinaryPrimitives.ReadUInt32LittleEndian(block);
            var length = (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(block.AsSpan(4)), int.MaxValue);
            if (length < 12 || length % 4 != 0 || length > MaxBlockBytes)
            {
                throw new InvalidDataException($"not a pcapng block: type 0x{type:x8}, length {length}");
            }

            if (length > block.Length)
            {
                var larger = new byte[length];
                block.AsSpan(0, 8).CopyTo(larger);
                block = larger;
            }

            ReadFully(source, block.AsSpan(8, length - 8), atBlockStart: false);
            destination.Write(block, 0, length);
            Interlocked.Add(ref _bytes, length);
            if (type == EnhancedPacketBlockType)
            {
                Interlocked.Increment(ref _packets);
            }
            else if (type == InterfaceStatisticsBlockType)
            {
                Interlocked.Add(ref _dropped, DroppedOption(block.AsSpan(0, length)));
            }

            if (sourceIdle())
            {
                destination.Flush();
            }
        }
    }

    /// <summary>The <c>isb_ifdrop</c> of a statistics block (0 without one).</summary>
    private static long DroppedOption(ReadOnlySpan<byte> block)
    {
        var options = block[20..^4];
        while (options.Length >= 4)
        {
            var code = BinaryPrimitives.ReadUInt16LittleEndian(options);
            var valueLength = BinaryPrimitives.ReadUInt16LittleEndian(options[2..]);
            if (code == 0 || options.Length < 4 + valueLength)
            {
                break;
            }

            if (code == DroppedFramesCode && valueLength == 8)
            {
                return (long)BinaryPrimitives.ReadUInt64LittleEndian(options[4..]);
            }

            options = options[(4 + ((valueLength + 3) & ~3))..];
        }

        return 0;
    }

    private static bool ReadFully(Stream source, Span<byte> buffer, bool atBlockStart)
    {
        var read = 0;
        while (read < buffer.Length)
        {
            var count = source.Read(buffer[read..]);
            if (count == 0)
            {
                return read == 0 && atBlockStart ? false : throw new InvalidDataException("the pcapng stream ended inside a block");
            }

            read += count;
        }

        return true;
    }
}
