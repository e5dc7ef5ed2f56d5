using UserBridge.Control.Config;
using UserBridge.Core.Observers;

namespace UserBridge.Control.Tests;

/// <summary>The <c>[capture]</c> and <c>[[mirror]]</c> tables: read with their defaults, refused with line and reason.</summary>
public sealed class TapConfigTests
{
    private const string Ports = """
        [[port]]
        name = "p1"
        interface = "ub-p1"

        [[port]]
        name = "p2"
        interface = "ub-p2"

        [[port]]
        name = "p9"
        interface = "ub-p9"

        """;

    [Fact]
    public void ReadsTheCaptureAndTheMirrors()
    {
        var config = ConfigLoader.Parse(
            Ports + """
            [capture]
            file = "/var/log/userbridge/ub0.pcapng"
            ports = ["p1", "p2"]
            filter = "icmp or arp"
            rotate_bytes = 1048576
            keep_files = 5
            include_drops = true

            [[mirror]]
            source = ["p1", "p2"]
            direction = "in"
            output = "p9"
            vlan = 999
            """,
            "switch.toml");

        var capture = config.Capture!;
        Assert.Equal(("/var/log/userbridge/ub0.pcapng", "icmp or arp", 1048576L, 5, true, ObserverDirection.Both), (capture.File, capture.Filter, capture.RotateBytes, capture.KeepFiles, capture.IncludeDrops, capture.Direction));
        Assert.Equal(["p1", "p2"], capture.Ports!.Order(StringComparer.Ordinal));
        var mirror = Assert.Single(config.Mirrors);
        Assert.Equal((ObserverDirection.In, "p9", 999, 20), (mirror.Direction, mirror.Output, mirror.Vlan, mirror.Line));
        Assert.Equal(["p1", "p2"], mirror.Sources.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void AMirrorOfOneSourceMayNameItAsAString()
    {
        var config = ConfigLoader.Parse(Ports + "[[mirror]]\nsource = \"p1\"\noutput = \"p9\"\n", "switch.toml");

        Assert.Equal(["p1"], Assert.Single(config.Mirrors).Sources);
        Assert.Equal(ObserverDirection.Both, config.Mirrors[0].Direction);
        Assert.Null(config.Capture);
    }

    [Theory]
    [InlineData("[capture]\nports = [\"p1\"]", "switch.toml:12: [capture] has no file; add file = ")]
    [InlineData("[capture]\nfile = \"x\"\nkeep_files = 3", "switch.toml:12: [capture] keep_files needs rotate_bytes")]
    [InlineData("[capture]\nfile = \"x\"\ndirection = \"sideways\"", "switch.toml:14: direction must be \"in\", \"out\" or \"both\"")]
    [InlineData("[capture]\nfile = \"x\"\nports = \"p1\"", "switch.toml:14: ports must be an array of port names")]
    [InlineData("[capture]\nfile = \"x\"\nports = [\"p7\"]", "switch.toml:12: [capture] names port 'p7', which is not a [[port]] of this config")]
    [InlineData("[capture]\nfile = \"x\"\nsize = 3", "switch.toml:14: unknown key 'size' in [capture]; allowed: file, ports, direction, filter, snaplen, include_drops, rotate_bytes, keep_files")]
    [InlineData("[[mirror]]\nsource = [\"p1\"]", "switch.toml:12: [[mirror]] needs source = [\"p1\", ...] and output = \"p9\"")]
    [InlineData("[[mirror]]\nsource = [\"p1\"]\noutput = \"p1\"", "switch.toml:12: [[mirror]] output 'p1' is also one of its sources; mirror to another port")]
    [InlineData("[[mirror]]\nsource = [\"p1\"]\noutput = \"p8\"", "switch.toml:12: [[mirror]] names port 'p8', which is not a [[port]] of this config")]
    [InlineData("[[mirror]]\nsource = [\"p1\"]\noutput = \"p9\"\nvlan = 5000", "switch.toml:15: vlan must be an integer from 1 to 4094")]
    [InlineData("[[mirror]]\nsource = [\"p1\"]\noutput = \"p9\"\n[[mirror]]\nsource = [\"p2\"]\noutput = \"p9\"", "switch.toml:15: port 'p9' is already the output of another [[mirror]]")]
    public void RejectsABadTapSettingNamingTheLine(string toml, string expected)
    {
        var error = Assert.Throws<ConfigException>(() => ConfigLoader.Parse(Ports + toml, "switch.toml"));

        Assert.Contains(error.Errors, message => message.StartsWith(expected, StringComparison.Ordinal));
    }
}
