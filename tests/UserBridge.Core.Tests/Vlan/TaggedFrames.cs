using System.Buffers.Binary;
using UserBridge.Core.Frames;

namespace UserBridge.Core.Tests.Vlan;

/// <summary>
/// Builds a frame as its parts: addresses, a stack of tags (outermost first), then a body (EtherType and payload).
/// A test states what should leave a port the same way, so an expected frame is never sliced out of the one sent.
/// </summary>
internal static class TaggedFrames
{
    public const int AddressesLength = 12;

    public static readonly MacAddress Sender = Frames.Station(0x5E);

    /// <summary>An IPv4 EtherType and <paramref name="payloadLength"/> bytes that differ from their neighbours.</summary>
    public static byte[] Body(int payloadLength)
    {
        var body = new byte[2 + payloadLength];
        BinaryPrimitives.WriteUInt16BigEndian(body, 0x0800);
        for (var i = 2; i < body.Length; i++)
        {
            body[i] = (byte)((i * 7) + 1);
        }

        return body;
    }

    public static byte[] Build(MacAddress destination, MacAddress source, IReadOnlyList<Tag> tags, ReadOnlySpan<byte> body)
    {
        ArgumentNullException.ThrowIfNull(tags);
        var frame = new byte[AddressesLength + (EthernetFrame.VlanTagLength * tags.Count) + body.Length];
        destination.Write(frame);
        source.Write(frame.AsSpan(6));
        var offset = AddressesLength;
        foreach (var tag in tags)
        {
            BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(offset), tag.Tpid);
            BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(offset + 2), tag.Tci);
            offset += EthernetFrame.VlanTagLength;
        }

        body.CopyTo(frame.AsSpan(offset));
        return frame;
    }

    /// <summary>A broadcast from <see cref="Sender"/> carrying <paramref name="tags"/>.</summary>
    public static byte[] Broadcast(IReadOnlyList<Tag> tags, int payloadLength = 46) =>
        Build(MacAddress.Broadcast, Sender, tags, Body(payloadLength));

    /// <summary>The payload length that makes a frame with <paramref name="tagCount"/> tags <paramref name="frameLength"/> bytes long.</summary>
    public static int PayloadLengthFor(int frameLength, int tagCount) =>
        frameLength - AddressesLength - (EthernetFrame.VlanTagLength * tagCount) - 2;
}
