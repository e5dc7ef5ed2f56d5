using System.Security.Cryptography;
using System.Text.Json;
using UserBridge.Linux.Host;

namespace UserBridge.Integration.Tests;

/// <summary>
/// The namespaces and interfaces of one test, all named with a prefix unique to this test run, addresses from
/// 198.18.0.0/15 and no default route. Dispose removes everything, also when the test failed.
/// </summary>
internal sealed class TestNetwork : IDisposable
{
    private readonly List<string> _namespaces = [];
    private readonly List<string> _persistentTaps = [];

    public TestNetwork() => Prefix = "ubt" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3));

    /// <summary>9 characters: room for "-p1" within the 15 of an interface name.</summary>
    public string Prefix { get; }

    public string Tap(int host) => $"{Prefix}-p{host}";

    public string Namespace(int host) => $"{Prefix}-h{host}";

    public static string Address(int host) => $"198.18.0.{host}";

    /// <summary>Moves the switch's TAP for <paramref name="host"/> into a new namespace and configures it.</summary>
    public void AddHost(int host) => AddHostWithAddress(host, $"{Address(host)}/24");

    /// <summary>Like <see cref="AddHost"/>, with the given address instead of the host's usual one.</summary>
    public void AddHostWithAddress(int host, string addressWithPrefix)
    {
        _namespaces.Add(Namespace(host));
        HostNamespace.Create(Namespace(host), Tap(host), addressWithPrefix);
    }

    /// <summary>Creates a persistent TAP in the root namespace (removed in Dispose).</summary>
    public void AddPersistentTap(string name)
    {
        Shell.Check("ip", "tuntap", "add", "dev", name, "mode", "tap");
        _persistentTaps.Add(name);
    }

    public string MacOf(int host)
    {
        var json = Shell.Check("ip", "-n", Namespace(host), "-j", "link", "show", "dev", Tap(host));
        using var document = JsonDocument.Parse(json);
        return document.RootElement[0].GetProperty("address").GetString()!;
    }

    public ExternalCommand.Result Ping(int from, int to, int count = 2) => PingAddress(from, Address(to), count, replyWaitSeconds: 2);

    /// <summary>Pings from host <paramref name="from"/>'s namespace; a short reply wait suits pings that must fail.</summary>
    public ExternalCommand.Result PingAddress(int from, string address, int count = 2, int replyWaitSeconds = 1) =>
        Shell.Run(
            "ip", "netns", "exec", Namespace(from), "ping",
            "-c", count.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "-i", "0.2",
            "-W", replyWaitSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "-q", address);

    public static bool InterfaceExists(string name) => Directory.Exists($"/sys/class/net/{name}");

    public void Dispose()
    {
        foreach (var ns in _namespaces)
        {
            Shell.Run("ip", "netns", "delete", ns);
        }

        foreach (var tap in _persistentTaps)
        {
            Shell.Run("ip", "link", "delete", "dev", tap);
        }
    }
}
