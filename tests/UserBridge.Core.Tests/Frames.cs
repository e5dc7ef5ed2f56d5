using System.Buffers.Binary;
using UserBridge.Core.Frames;

namespace UserBridge.Core.Tests;

/// <summary>Builds synthetic Ethernet frames and station addresses for the tests.</summary>
internal static class Frames
{
    /// <summary>A locally administered unicast address (02:00:…) numbered <paramref name="station"/>.</summary>
    public static MacAddress Station(uint station) => new(0x0200_0000_0000UL | station);

    /// <summary>
    /// An Ethernet II frame from <paramref name="source"/> to <paramref name="destination"/>, with an 802.1Q tag
    /// carrying <paramref name="vlan"/> when given, and a payload of <paramref name="payloadLength"/> bytes
    /// filled with a counting pattern (so a corrupted copy would not compare equal).
    /// </summary>
    public static byte[] Ethernet(MacAddress destination, MacAddress source, ushort etherType = 0x0800, int payloadLength = 46, ushort? vlan = null)
    {
        var tagLength = vlan is null ? 0 : EthernetFrame.VlanTagLength;
        var frame = new byte[EthernetFrame.HeaderLength + tagLength + payloadLength];
        destination.Write(frame);
        source.Write(frame.AsSpan(6));
        var offset = 12;
        if (vlan is { } tci)
        {
            BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(offset), EthernetFrame.EtherTypeVlan);
            BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(offset + 2), tci);
            offset += EthernetFrame.VlanTagLength;
        }

        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(offset), etherType);
        for (var i = offset + 2; i < frame.Length; i++)
        {
            frame[i] = (byte)i;
        }

        return frame;
    }
}
