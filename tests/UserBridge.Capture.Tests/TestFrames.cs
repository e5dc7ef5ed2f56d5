using System.Buffers.Binary;
using UserBridge.Core.Frames;

namespace UserBridge.Capture.Tests;

/// <summary>Synthetic Ethernet frames: addresses, an optional 802.1Q tag, an EtherType and a zero payload.</summary>
internal static class TestFrames
{
    public static byte[] Ethernet(MacAddress destination, MacAddress source, ushort etherType = 0x0800, int payload = 46, ushort? vlan = null)
    {
        var tag = vlan is null ? 0 : EthernetFrame.VlanTagLength;
        var frame = new byte[EthernetFrame.HeaderLength + tag + payload];
        destination.Write(frame);
        source.Write(frame.AsSpan(6));
        if (vlan is { } vid)
        {
            BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(12), EthernetFrame.EtherTypeVlan);
            BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(14), vid);
        }

        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(12 + tag), etherType);
        return frame;
    }
}
