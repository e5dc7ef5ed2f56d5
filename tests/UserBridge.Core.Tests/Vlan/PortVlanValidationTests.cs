using UserBridge.Core.Ports;

namespace UserBridge.Core.Tests.Vlan;

/// <summary>Issue 4: a VID is 1 to 4094, and a trunk's native VLAN must be one it allows.</summary>
public sealed class PortVlanValidationTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(4095)]
    [InlineData(4096)]
    [InlineData(-1)]
    public void AVidOutside1To4094IsRefusedForEveryMode(int vid)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => PortVlan.Access(vid));
        Assert.Throws<ArgumentOutOfRangeException>(() => PortVlan.Dot1qTunnel(vid));
        Assert.Throws<ArgumentOutOfRangeException>(() => PortVlan.Trunk([vid]));
        Assert.Throws<ArgumentOutOfRangeException>(() => PortVlan.Trunk([10, vid, 20]));
    }

    [Theory]
    [InlineData(4095)]
    [InlineData(4096)]
    [InlineData(-1)]
    public void ANativeVlanOutside1To4094IsRefused(int native)
    {
        Assert.ThrowsAny<ArgumentException>(() => PortVlan.Trunk([10, 20], native: native));
    }

    [Theory]
    [InlineData(30)]
    [InlineData(1)]
    [InlineData(4094)]
    public void ATrunkWhoseNativeVlanIsNotAllowedIsRefused(int native)
    {
        var refusal = Assert.Throws<ArgumentException>(() => PortVlan.Trunk([10, 20], native: native));

        Assert.Contains(native.ToString(System.Globalization.CultureInfo.InvariantCulture), refusal.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4094)]
    public void TheFirstAndLastVidsAreAccepted(int vid)
    {
        Assert.True(PortVlan.Access(vid).Carries(vid));
        Assert.True(PortVlan.Dot1qTunnel(vid).Carries(vid));
        var trunk = PortVlan.Trunk([vid], native: vid);
        Assert.Equal(vid, trunk.Native);
        Assert.True(trunk.Carries(vid));
        Assert.False(trunk.EgressTagged(vid));
    }

    [Fact]
    public void ATrunkCarriesExactlyItsAllowedVlansAndTagsAllButItsNative()
    {
        var trunk = PortVlan.Trunk([1, 10, 20], native: 1);

        Assert.Equal([1, 10, 20], trunk.Vlans());
        Assert.False(trunk.Carries(0));
        Assert.False(trunk.Carries(4095));
        Assert.False(trunk.EgressTagged(1));
        Assert.True(trunk.EgressTagged(10));
        Assert.Equal(PortVlan.TpidDot1q, trunk.Tpid);
    }
}
