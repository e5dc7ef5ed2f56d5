using UserBridge.Core.Frames;

namespace UserBridge.Core.Tests;

public sealed class EthernetFrameTests
{
    [Theory]
    [InlineData(null, false, 0)]
    [InlineData((ushort)10, true, 10)]
    [InlineData((ushort)0xA00A, true, 10)]
    [InlineData((ushort)0x1FFF, true, 0xFFF)]
    [InlineData((ushort)0, true, 0)]
    public void ReadsTheVidOfAnOuterTagWithoutItsPriorityBits(ushort? tci, bool tagged, int vid)
    {
        var bytes = Frames.Ethernet(MacAddress.Broadcast, Frames.Station(1), vlan: tci);

        var frame = new EthernetFrame(bytes);

        Assert.Equal(tagged, frame.HasVlanTag);
        Assert.Equal(vid, frame.VlanId);
        Assert.Equal(Frames.Station(1), frame.Source);
        Assert.Equal(MacAddress.Broadcast, frame.Destination);
    }

    [Fact]
    public void ReadsTheVidOfAnOuterQinQTag()
    {
        var bytes = Frames.Ethernet(MacAddress.Broadcast, Frames.Station(1), vlan: 300);
        bytes[12] = 0x88;
        bytes[13] = 0xA8;

        Assert.Equal(300, new EthernetFrame(bytes).VlanId);
    }

    [Fact]
    public void TreatsATagCutShortByTheEndOfTheFrameAsNoTag()
    {
        var bytes = Frames.Ethernet(MacAddress.Broadcast, Frames.Station(1), vlan: 10, payloadLength: 0)[..16];

        var frame = new EthernetFrame(bytes);

        Assert.True(frame.IsValid);
        Assert.False(frame.HasVlanTag);
        Assert.Equal(0, frame.VlanId);
    }
}
