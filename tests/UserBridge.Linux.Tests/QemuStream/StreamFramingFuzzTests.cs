using System.Buffers.Binary;
using CsCheck;
using UserBridge.Linux.Ports.QemuStream;
using UserBridge.Tests.Shared;

namespace UserBridge.Linux.Tests.QemuStream;

/// <summary>QEMU's stream framing against random byte streams, cut anywhere. See <see cref="FuzzBudget"/> for the length of a run.</summary>
public sealed class StreamFramingFuzzTests
{
    [Fact]
    public void StreamFramingReadsAnyByteStreamWithoutThrowingAndNamesEveryBadLength()
    {
        var (iterations, seconds) = FuzzBudget.Current;
        Gen.Byte.Array[0, 300].Sample(
            static bytes =>
            {
                var position = 0;
                while (true)
                {
                    var status = StreamFraming.Next(bytes.AsSpan(position), out var length);
                    var prefix = bytes.Length - position >= 4 ? BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(position)) : 0;
                    var expected = bytes.Length - position < 4 ? StreamFrameStatus.NeedMore
                        : prefix is <= 0 or > StreamFraming.MaxFrameLength ? StreamFrameStatus.BadLength
                        : bytes.Length - position - 4 >= prefix ? StreamFrameStatus.Frame
                        : StreamFrameStatus.NeedMore;
                    if (status != expected)
                    {
                        throw new InvalidOperationException($"at {position}: {status}, expected {expected}");
                    }

                    if (status != StreamFrameStatus.Frame)
                    {
                        return;
                    }

                    position += StreamFraming.LengthPrefix + length;
                }
            },
            writeLine: FuzzBudget.Report,
            iter: iterations,
            time: seconds);
    }

    [Fact]
    public void StreamFramingGivesBackTheSameFramesHoweverTheStreamIsCut()
    {
        var (iterations, seconds) = FuzzBudget.Current;
        Gen.Select(Gen.Byte.Array[1, 1600].Array[1, 8], Gen.Int[1, 3000].Array[1, 10]).Sample(
            static (frames, cuts) =>
            {
                var stream = frames.SelectMany(frame => BitConverter.GetBytes(BinaryPrimitives.ReverseEndianness(frame.Length)).Concat(frame)).ToArray();
                var received = new List<byte[]>();
                var buffer = new List<byte>();
                var position = 0;
                var cut = 0;
                while (position < stream.Length)
                {
                    var take = Math.Min(cuts[cut++ % cuts.Length], stream.Length - position);
                    buffer.AddRange(stream.AsSpan(position, take));
                    position += take;
                    int length;
                    while (StreamFraming.Next(buffer.ToArray(), out length) == StreamFrameStatus.Frame)
                    {
                        received.Add([.. buffer.GetRange(StreamFraming.LengthPrefix, length)]);
                        buffer.RemoveRange(0, StreamFraming.LengthPrefix + length);
                    }
                }

                if (buffer.Count != 0 || received.Count != frames.Length || !received.Zip(frames).All(pair => pair.First.SequenceEqual(pair.Second)))
                {
                    throw new InvalidOperationException($"{frames.Length} frames sent, {received.Count} received, {buffer.Count} bytes left");
                }
            },
            writeLine: FuzzBudget.Report,
            iter: iterations / 10,
            time: seconds);
    }
}
