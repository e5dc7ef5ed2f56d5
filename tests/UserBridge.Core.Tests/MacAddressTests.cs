using UserBridge.Core.Frames;

namespace UserBridge.Core.Tests;

public sealed class MacAddressTests
{
    [Theory]
    [InlineData("02:00:00:00:00:01", false)]
    [InlineData("01:00:5e:00:00:01", true)]
    [InlineData("ff:ff:ff:ff:ff:ff", true)]
    public void ParsesFormatsAndClassifiesAddresses(string text, bool multicast)
    {
        var mac = MacAddress.Parse(text);
        Assert.Equal(text, mac.ToString());
        Assert.Equal(multicast, mac.IsMulticast);
    }
}
