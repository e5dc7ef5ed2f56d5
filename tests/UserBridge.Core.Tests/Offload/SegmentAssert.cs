using System.Buffers.Binary;

namespace UserBridge.Core.Tests.Offload;

/// <summary>
/// Checks segments against the frame they were cut from, field by field and independently of the code under
/// test: each segment's headers must equal the original's except for the fields segmentation changes, those
/// must hold what RFCs and the kernel's segmentation say, and the checksums must verify with the naive sum.
/// </summary>
internal static class SegmentAssert
{
    public static void AreWireFramesOf(TestFrame original, IReadOnlyList<byte[]> segments, int gsoSize)
    {
        var payloadLength = original.PayloadLength;
        var expectedCount = Math.Max(1, (payloadLength + gsoSize - 1) / gsoSize);
        Assert.Equal(expectedCount, segments.Count);

        var originalBytes = original.Bytes;
        var originalId = BinaryPrimitives.ReadUInt16BigEndian(originalBytes.AsSpan(original.L3Offset + 4));
        var originalSequence = BinaryPrimitives.ReadUInt32BigEndian(originalBytes.AsSpan(original.L4Offset + 4));
        var originalFlags = originalBytes[original.L4Offset + 13];
        var payload = new List<byte>(payloadLength);
        for (var index = 0; index < segments.Count; index++)
        {
            var segment = segments[index];
            var isLast = index == segments.Count - 1;
            var segmentPayloadLength = isLast ? payloadLength - (index * gsoSize) : gsoSize;
            Assert.Equal(original.PayloadOffset + segmentPayloadLength, segment.Length);
            Assert.True(NaiveChecksum.TransportChecksumVerifies(segment, original), $"transport checksum of segment {index}");

            var expectedHeader = originalBytes[..original.PayloadOffset];
            var l3 = expectedHeader.AsSpan(original.L3Offset);
            var l4 = expectedHeader.AsSpan(original.L4Offset);
            if (original.IsIpv6)
            {
                BinaryPrimitives.WriteUInt16BigEndian(l3[4..], (ushort)(segment.Length - original.L3Offset - 40));
            }
            else
            {
                Assert.True(NaiveChecksum.Ipv4HeaderChecksumVerifies(segment, original), $"IPv4 header checksum of segment {index}");
                BinaryPrimitives.WriteUInt16BigEndian(l3[2..], (ushort)(segment.Length - original.L3Offset));
                BinaryPrimitives.WriteUInt16BigEndian(l3[4..], (ushort)(originalId + index));
                segment.AsSpan(original.L3Offset + 10, 2).CopyTo(l3[10..]);
            }

            if (original.IsTcp)
            {
                BinaryPrimitives.WriteUInt32BigEndian(l4[4..], originalSequence + (uint)(index * gsoSize));
                l4[13] = ExpectedTcpFlags(originalFlags, first: index == 0, last: isLast);
            }
            else
            {
                BinaryPrimitives.WriteUInt16BigEndian(l4[4..], (ushort)(segment.Length - original.L4Offset));
            }

            segment.AsSpan(original.L4Offset + original.ChecksumOffset, 2).CopyTo(l4[original.ChecksumOffset..]);
            Assert.Equal(expectedHeader, segment[..original.PayloadOffset]);
            payload.AddRange(segment.AsSpan(original.PayloadOffset));
        }

        Assert.Equal(original.Payload.ToArray(), payload.ToArray());
    }

    /// <summary>What a segment's TCP flags must be: FIN and PSH on the last only, CWR on the first only.</summary>
    private static byte ExpectedTcpFlags(byte originalFlags, bool first, bool last)
    {
        var flags = originalFlags;
        if (!last)
        {
            flags &= unchecked((byte)~(TestFrames.TcpFin | TestFrames.TcpPsh));
        }

        if (!first)
        {
            flags &= unchecked((byte)~TestFrames.TcpCwr);
        }

        return flags;
    }
}
