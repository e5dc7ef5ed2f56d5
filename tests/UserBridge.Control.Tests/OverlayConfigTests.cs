using System.Net;
using UserBridge.Control.Config;
using UserBridge.Core.Ports;
using UserBridge.Linux.Ports.Overlay;

namespace UserBridge.Control.Tests;

public sealed class OverlayConfigTests
{
    private const string File = "switch.toml";

    [Fact]
    public void ReadsAVxlanPortWithItsDefaults()
    {
        var port = ConfigLoader.Parse("[[port]]\ntype = \"vxlan\"\nvni = 42\nremotes = [\"198.18.0.2\", \"198.18.0.3\"]", File).Ports.Single();

        Assert.Equal("vxlan42", port.Name);
        var overlay = (OverlaySettings)port.Settings;
        Assert.Equal(OverlayProtocol.Vxlan, overlay.Protocol);
        Assert.Equal(42u, overlay.Vni);
        Assert.Equal([IPAddress.Parse("198.18.0.2"), IPAddress.Parse("198.18.0.3")], overlay.Remotes);
        Assert.Equal(4789, overlay.Port);
        Assert.Equal(1500, overlay.Mtu);
        Assert.Equal(1464, overlay.MaxFrameLength);
        Assert.Null(overlay.Namespace);
        Assert.Equal(PortGuard.NoMtu, port.Guard.Mtu);
    }

    [Fact]
    public void ReadsAGenevePortOverIpv6WithEverySetting()
    {
        var port = ConfigLoader.Parse(
            "[[port]]\nname = \"gn\"\ntype = \"geneve\"\nvni = 7\nlocal = \"2001:db8::1\"\nremotes = \"2001:db8::2\"\ndstport = 6082\nttl = 16\ntos = 32\nmtu = 9000\nnetns = \"under\"",
            File).Ports.Single();

        var overlay = (OverlaySettings)port.Settings;
        Assert.Equal(OverlayProtocol.Geneve, overlay.Protocol);
        Assert.True(overlay.Ipv6);
        Assert.Equal((6082, 16, 32, 9000, "under"), ((int)overlay.Port, overlay.Ttl, overlay.Tos, overlay.Mtu, overlay.Namespace));
        Assert.Equal(9000 - 70 + 14, overlay.MaxFrameLength);
    }

    [Fact]
    public void AVniMapMakesTheOverlayPortATrunkOfTheMappedVlans()
    {
        var port = ConfigLoader.Parse("[[port]]\nname = \"vx\"\ntype = \"vxlan\"\nvni_map = \"10:1010, 20:1020\"\nremotes = [\"198.18.0.2\"]", File).Ports.Single();

        Assert.Equal(new Dictionary<int, uint> { [10] = 1010, [20] = 1020 }, ((OverlaySettings)port.Settings).VniMap);
        Assert.Equal(VlanMode.Trunk, port.Vlan!.Mode);
        Assert.Equal([10, 20], port.Vlan.Vlans());
    }

    [Fact]
    public void TheSameSettingsAreTheSamePortSoAReloadKeepsIt()
    {
        const string Text = "[[port]]\nname = \"vx\"\ntype = \"vxlan\"\nvni_map = \"10:1010\"\nremotes = [\"198.18.0.2\"]";

        Assert.Equal(ConfigLoader.Parse(Text, File).Ports.Single().Settings, ConfigLoader.Parse(Text, File).Ports.Single().Settings);
        Assert.NotEqual(ConfigLoader.Parse(Text, File).Ports.Single().Settings, ConfigLoader.Parse(Text.Replace("1010", "1011", StringComparison.Ordinal), File).Ports.Single().Settings);
    }

    [Theory]
    [InlineData("type = \"vxlan\"\nremotes = [\"198.18.0.2\"]", "switch.toml:1: a vxlan port needs vni = N (0 to 16777215) or vni_map")]
    [InlineData("type = \"vxlan\"\nvni = 16777216\nremotes = [\"198.18.0.2\"]", "switch.toml:3: vni must be an integer from 0 to 16777215")]
    [InlineData("type = \"vxlan\"\nvni = 1\nvni_map = \"10:1\"\nremotes = [\"198.18.0.2\"]", "switch.toml:3: vni and vni_map do not go together")]
    [InlineData("type = \"vxlan\"\nvni_map = \"10:1,20:1\"\nremotes = [\"198.18.0.2\"]", "switch.toml:3: vni_map maps VLAN 20 or VNI 1 twice")]
    [InlineData("type = \"vxlan\"\nvni_map = \"10\"\nremotes = [\"198.18.0.2\"]", "switch.toml:3: vni_map entry \"10\" is not VLAN:VNI")]
    [InlineData("type = \"vxlan\"\nvni_map = \"10:1\"\nvlan = 10\nremotes = [\"198.18.0.2\"]", "switch.toml:4: vlan does not go with vni_map")]
    [InlineData("type = \"vxlan\"\nvni = 1", "switch.toml:1: the port has no VTEP to send to; add remotes = [\"198.18.0.2\"] (the other hosts' underlay addresses) or group")]
    [InlineData("type = \"vxlan\"\nvni = 1\nremotes = [\"host-b\"]", "switch.toml:4: remotes entry \"host-b\" is not a unicast IPv4 or IPv6 address")]
    [InlineData("type = \"vxlan\"\nvni = 1\nremotes = [\"239.1.1.1\"]", "switch.toml:4: remotes entry \"239.1.1.1\" is not a unicast")]
    [InlineData("type = \"vxlan\"\nvni = 1\nlocal = \"2001:db8::1\"\nremotes = [\"198.18.0.2\"]", "switch.toml:5: local, remotes and group mix IPv4 and IPv6")]
    [InlineData("type = \"vxlan\"\nvni = 1\ngroup = \"198.18.0.9\"\nlocal = \"198.18.0.1\"", "switch.toml:4: group = \"198.18.0.9\" is not a multicast address")]
    [InlineData("type = \"vxlan\"\nvni = 1\ngroup = \"239.1.1.1\"", "switch.toml:4: group needs local = \"ADDRESS\"")]
    [InlineData("type = \"vxlan\"\nvni = 1\nremotes = [\"198.18.0.2\"]\nmtu = 100", "switch.toml:5: mtu must be an integer from 118 to 65535")]
    [InlineData("type = \"geneve\"\nvni = 1\nremotes = [\"198.18.0.2\"]\ninterface = \"eth0\"", "switch.toml:5: unknown key 'interface' in [[port]] of type \"geneve\"")]
    public void ABadOverlaySettingNamesItsLineAndTheFix(string port, string expected)
    {
        var error = Assert.Throws<ConfigException>(() => ConfigLoader.Parse("[[port]]\n" + port, File));

        Assert.Contains(error.Errors, message => message.StartsWith(expected, StringComparison.Ordinal));
    }
}
