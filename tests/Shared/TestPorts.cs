using UserBridge.Control.Config;
using UserBridge.Linux.Ports;

namespace UserBridge.Tests.Shared;

/// <summary>Ports for tests, read by the same rules as the config file and <c>port add</c>.</summary>
internal static class TestPorts
{
    /// <summary>The port these keys and values describe; a test fails on a setting the rules refuse.</summary>
    public static PortConfig Parse(params (string Key, object Value)[] settings)
    {
        var errors = new List<string>();
        var port = PortRules.Build([.. settings.Select(setting => new PortSetting(setting.Key, setting.Value, 0))], 0, _ => "test", errors);
        Assert.True(port is not null, string.Join("\n", errors));
        return port;
    }
}
