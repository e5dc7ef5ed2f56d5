namespace UserBridge.Core.Offload;

/// <summary>
/// Where <see cref="GsoSegmenter"/> puts the frames it produces. Implement it on a struct: the segmenter is
/// generic over the sink, so the call is direct (often inlined) and nothing is boxed.
/// </summary>
public interface IFrameSink
{
    /// <summary>
    /// Takes one finished wire frame. The span is only valid during the call: the segmenter reuses its buffer
    /// for the next segment, so send it or copy it before returning.
    /// </summary>
    void Emit(ReadOnlySpan<byte> frame);
}
