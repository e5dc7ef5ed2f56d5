namespace UserBridge.Capture;

/// <summary>
/// A stream that takes a block in pieces and writes them as one (a file, through <c>pwritev</c>): the pcapng writer
/// then hands it a large frame where the frame lies instead of copying it into the block first.
/// </summary>
internal interface IBlockSink
{
    /// <summary>Writes <paramref name="head"/>, <paramref name="body"/> and <paramref name="tail"/> as one block.</summary>
    void WriteBlock(ReadOnlySpan<byte> head, ReadOnlySpan<byte> body, ReadOnlySpan<byte> tail);
}
