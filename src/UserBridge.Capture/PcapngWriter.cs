using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Text;

namespace UserBridge.Capture;

/// <summary>
/// Encodes a pcapng stream (draft-ietf-opsawg-pcapng) of the switch: one Section Header Block, one Interface
/// Description Block per port, an Enhanced Packet Block per frame copy and Interface Statistics Blocks when a
/// capture ends.
/// </summary>
/// <remarks>
/// <para>
/// Every block is written little-endian (the Section Header's byte-order magic tells readers so) and framed by its
/// total length at both ends, which is what lets a reader walk backwards and skip blocks it does not know. Every
/// block is a multiple of 32 bits: packet data and option values are zero-padded. Option lists end with
/// <c>opt_endofopt</c>.
/// </para>
/// <para>
/// All interfaces are <c>LINKTYPE_ETHERNET</c> with nanosecond <c>if_tsresol</c>: <c>tcpdump -r</c> refuses a file
/// whose interfaces differ in link type, and nanoseconds are what the switch's clock gives without rounding.
/// </para>
/// <para>
/// The packet path does not allocate: a block is built in one reusable buffer, the comment is encoded straight
/// into it, and the buffer goes to the stream in one write. The buffer only grows (once) for a comment longer than
/// any seen before. Not thread-safe: the capture's single writer thread owns it. It does not own the stream.
/// </para>
/// </remarks>
public sealed class PcapngWriter
{
    /// <summary>The <c>shb_userappl</c> written in the Section Header Block.</summary>
    public const string UserApplication = "UserBridge";

    private const uint SectionHeaderBlockType = 0x0A0D0D0A;
    private const uint InterfaceDescriptionBlockType = 0x00000001;
    private const uint InterfaceStatisticsBlockType = 0x00000005;
    private const uint EnhancedPacketBlockType = 0x00000006;
    private const uint ByteOrderMagic = 0x1A2B3C4D;
    private const ushort MajorVersion = 1;
    private const ushort MinorVersion = 0;
    private const long UnknownSectionLength = -1;
    private const ushort LinkTypeEthernet = 1;
    private const byte NanosecondResolutionExponent = 9;

    private const ushort EndOfOptionsCode = 0;
    private const ushort CommentCode = 1;
    private const ushort UserApplicationCode = 4;
    private const ushort InterfaceNameCode = 2;
    private const ushort InterfaceDescriptionCode = 3;
    private const ushort TimestampResolutionCode = 9;
    private const ushort PacketFlagsCode = 2;
    private const ushort PacketIdCode = 5;
    private const ushort StartTimeCode = 2;
    private const ushort EndTimeCode = 3;
    private const ushort ReceivedFramesCode = 4;
    private const ushort DroppedFramesCode = 5;

    private const int MaxOptionValueBytes = ushort.MaxValue;
    private const int OptionHeaderBytes = 4;
    private const int BlockFramingBytes = 12;
    private const int EnhancedPacketFixedBytes = BlockFramingBytes + 20;
    private const int EnhancedPacketFixedOptionsBytes = (OptionHeaderBytes + 4) + (OptionHeaderBytes + 8) + OptionHeaderBytes;
    private const int InitialCommentBytes = 256;

    /// <summary>From this many captured bytes on, a frame goes to an <see cref="IBlockSink"/> without being copied.</summary>
    private const int GatherFrom = 2048;

    private readonly Stream _stream;
    private readonly List<int> _snapLengthsBytes = [];
    private byte[] _buffer;
    private int _blockBytes;

    /// <summary>Starts a section on <paramref name="stream"/> by writing its Section Header Block.</summary>
    public PcapngWriter(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        _stream = stream;
        _buffer = new byte[EnhancedPacketFixedBytes + EnhancedPacketFixedOptionsBytes + InitialCommentBytes];
        var userApplicationBytes = Utf8OptionBytes(UserApplication, nameof(UserApplication));
        EnsureCapacity(BlockFramingBytes + 16 + OptionHeaderBytes + Padded(userApplicationBytes) + OptionHeaderBytes);
        BeginBlock(SectionHeaderBlockType);
        PutUInt32(ByteOrderMagic);
        PutUInt16(MajorVersion);
        PutUInt16(MinorVersion);
        PutUInt64(unchecked((ulong)UnknownSectionLength));
        PutStringOption(UserApplicationCode, UserApplication, userApplicationBytes);
        PutOptionHeader(EndOfOptionsCode, 0);
        EndBlock();
    }

    /// <summary>
    /// Writes an Interface Description Block for a port and returns its interface id (0, 1, 2, … in order). Write
    /// it before the port's first packet.
    /// </summary>
    public int AddInterface(string name, string description, int snapLength)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(description);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(snapLength);
        var nameBytes = Utf8OptionBytes(name, nameof(name));
        var descriptionBytes = Utf8OptionBytes(description, nameof(description));

        EnsureCapacity(BlockFramingBytes + 8
            + OptionHeaderBytes + Padded(nameBytes)
            + OptionHeaderBytes + Padded(descriptionBytes)
            + OptionHeaderBytes + 4
            + OptionHeaderBytes);
        BeginBlock(InterfaceDescriptionBlockType);
        PutUInt16(LinkTypeEthernet);
        PutUInt16(0);
        PutUInt32((uint)snapLength);
        PutStringOption(InterfaceNameCode, name, nameBytes);
        PutStringOption(InterfaceDescriptionCode, description, descriptionBytes);
        PutOptionHeader(TimestampResolutionCode, 1);
        _buffer[_blockBytes] = NanosecondResolutionExponent;
        PutPadding(1);
        PutOptionHeader(EndOfOptionsCode, 0);
        EndBlock();

        // Packets are encoded into the same buffer: make room for the largest frame now, not on the packet path.
        EnsureCapacity(EnhancedPacketFixedBytes + Padded(snapLength) + EnhancedPacketFixedOptionsBytes + InitialCommentBytes);
        _snapLengthsBytes.Add(snapLength);
        return _snapLengthsBytes.Count - 1;
    }

    /// <summary>
    /// Writes an Enhanced Packet Block: <paramref name="frame"/> cut to the interface's snap length,
    /// <paramref name="direction"/> in <c>epb_flags</c>, <paramref name="packetId"/> in <c>epb_packetid</c> (shared
    /// by a frame's ingress copy and its egress copies) and <paramref name="comment"/>, if any, in
    /// <c>opt_comment</c>.
    /// </summary>
    public void WritePacket(
        int interfaceId,
        long timestampNs,
        ReadOnlySpan<byte> frame,
        int originalLength,
        PacketDirection direction,
        ulong packetId,
        string? comment)
    {
        var snapLength = SnapLength(interfaceId);
        ArgumentOutOfRangeException.ThrowIfNegative(timestampNs);
        ArgumentOutOfRangeException.ThrowIfLessThan(originalLength, frame.Length);
        var capturedLength = Math.Min(frame.Length, snapLength);
        var commentBytes = comment is null ? 0 : Utf8OptionBytes(comment, nameof(comment));
        var commentOptionBytes = comment is null ? 0 : OptionHeaderBytes + Padded(commentBytes);

        // A sink that gathers (a file) takes the frame where it lies; any other stream gets the block in one piece.
        var sink = capturedLength >= GatherFrom ? _stream as IBlockSink : null;
        EnsureCapacity(EnhancedPacketFixedBytes + (sink is null ? Padded(capturedLength) : 3) + commentOptionBytes + EnhancedPacketFixedOptionsBytes);
        BeginBlock(EnhancedPacketBlockType);
        PutUInt32((uint)interfaceId);
        PutTimestamp(timestampNs);
        PutUInt32((uint)capturedLength);
        PutUInt32((uint)originalLength);
        var headBytes = _blockBytes;
        if (sink is null)
        {
            frame[..capturedLength].CopyTo(_buffer.AsSpan(_blockBytes));
            PutPadding(capturedLength);
        }
        else
        {
            var padding = Padded(capturedLength) - capturedLength;
            _buffer.AsSpan(_blockBytes, padding).Clear();
            _blockBytes += padding;
        }

        if (comment is not null)
        {
            PutStringOption(CommentCode, comment, commentBytes);
        }

        PutOptionHeader(PacketFlagsCode, 4);
        PutUInt32((uint)direction);
        PutOptionHeader(PacketIdCode, 8);
        PutUInt64(packetId);
        PutOptionHeader(EndOfOptionsCode, 0);
        if (sink is null)
        {
            EndBlock();
            return;
        }

        var totalBytes = _blockBytes + capturedLength + 4;
        BinaryPrimitives.WriteUInt32LittleEndian(_buffer.AsSpan(4), (uint)totalBytes);
        PutUInt32((uint)totalBytes);
        sink.WriteBlock(_buffer.AsSpan(0, headBytes), frame[..capturedLength], _buffer.AsSpan(headBytes, _blockBytes - headBytes));
    }

    /// <summary>
    /// Writes an Interface Statistics Block, stamped at <paramref name="endTimeNs"/>: the capture's start and end
    /// (<c>isb_starttime</c>, <c>isb_endtime</c>), the frames captured on the interface (<c>isb_ifrecv</c>) and those
    /// the capture itself dropped (<c>isb_ifdrop</c>).
    /// </summary>
    public void WriteStatistics(int interfaceId, long startTimeNs, long endTimeNs, ulong receivedFrames, ulong droppedFrames)
    {
        SnapLength(interfaceId);
        ArgumentOutOfRangeException.ThrowIfNegative(startTimeNs);
        ArgumentOutOfRangeException.ThrowIfLessThan(endTimeNs, startTimeNs);

        EnsureCapacity(BlockFramingBytes + 12 + 4 * (OptionHeaderBytes + 8) + OptionHeaderBytes);
        BeginBlock(InterfaceStatisticsBlockType);
        PutUInt32((uint)interfaceId);
        PutTimestamp(endTimeNs);
        PutOptionHeader(StartTimeCode, 8);
        PutTimestamp(startTimeNs);
        PutOptionHeader(EndTimeCode, 8);
        PutTimestamp(endTimeNs);
        PutOptionHeader(ReceivedFramesCode, 8);
        PutUInt64(receivedFrames);
        PutOptionHeader(DroppedFramesCode, 8);
        PutUInt64(droppedFrames);
        PutOptionHeader(EndOfOptionsCode, 0);
        EndBlock();
    }

    /// <summary>Flushes the underlying stream, so a live reader sees every block written so far.</summary>
    public void Flush() => _stream.Flush();

    private static int Padded(int lengthBytes) => (lengthBytes + 3) & ~3;

    private static int Utf8OptionBytes(string value, string parameterName)
    {
        var lengthBytes = Encoding.UTF8.GetByteCount(value);
        if (lengthBytes > MaxOptionValueBytes)
        {
            ThrowOptionTooLong(parameterName, lengthBytes);
        }

        return lengthBytes;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowOptionTooLong(string parameterName, int lengthBytes) =>
        throw new ArgumentException(
            "A pcapng option holds at most " + MaxOptionValueBytes + " bytes; this one is " + lengthBytes + " bytes of UTF-8.",
            parameterName);

    private int SnapLength(int interfaceId)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(interfaceId);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(interfaceId, _snapLengthsBytes.Count);
        return _snapLengthsBytes[interfaceId];
    }

    private void EnsureCapacity(int blockBytes)
    {
        if (blockBytes > _buffer.Length)
        {
            Grow(blockBytes);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Grow(int blockBytes) => _buffer = new byte[Math.Max(blockBytes, _buffer.Length * 2)];

    private void BeginBlock(uint blockType)
    {
        _blockBytes = 0;
        PutUInt32(blockType);
        PutUInt32(0);
    }

    /// <summary>Writes the total length at both ends of the block and sends the block to the stream.</summary>
    private void EndBlock()
    {
        var totalBytes = _blockBytes + 4;
        BinaryPrimitives.WriteUInt32LittleEndian(_buffer.AsSpan(4), (uint)totalBytes);
        PutUInt32((uint)totalBytes);
        _stream.Write(_buffer, 0, totalBytes);
    }

    private void PutUInt16(ushort value)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(_buffer.AsSpan(_blockBytes), value);
        _blockBytes += 2;
    }

    private void PutUInt32(uint value)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(_buffer.AsSpan(_blockBytes), value);
        _blockBytes += 4;
    }

    private void PutUInt64(ulong value)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(_buffer.AsSpan(_blockBytes), value);
        _blockBytes += 8;
    }

    /// <summary>
    /// A pcapng timestamp is the high 32 bits then the low 32 bits, each in the section's byte order — not one
    /// little-endian 64-bit value.
    /// </summary>
    private void PutTimestamp(long timestampNs)
    {
        var units = (ulong)timestampNs;
        PutUInt32((uint)(units >> 32));
        PutUInt32((uint)units);
    }

    private void PutOptionHeader(ushort code, int valueBytes)
    {
        PutUInt16(code);
        PutUInt16((ushort)valueBytes);
    }

    private void PutStringOption(ushort code, string value, int valueBytes)
    {
        PutOptionHeader(code, valueBytes);
        Encoding.UTF8.GetBytes(value, _buffer.AsSpan(_blockBytes, valueBytes));
        PutPadding(valueBytes);
    }

    /// <summary>Advances past a value of <paramref name="valueBytes"/> just placed, zeroing its padding to 32 bits.</summary>
    private void PutPadding(int valueBytes)
    {
        var paddedBytes = Padded(valueBytes);
        _buffer.AsSpan(_blockBytes + valueBytes, paddedBytes - valueBytes).Clear();
        _blockBytes += paddedBytes;
    }
}
