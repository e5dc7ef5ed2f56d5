
namespace UserBridge.Integration.Tests;

/// <summary>
/// One test's switch and what surrounds it: the hosts (namespaces and interfaces named with a prefix unique to the
/// test), a scratch directory, the control socket in it. Dispose stops the switch and removes the rest, also after a
/// failure.
/// </summary>
internal sealed class SwitchLab : IDisposable
{
    public SwitchLab()
    {
        Directory = System.IO.Directory.CreateTempSubdirectory($"{Network.Prefix}-").FullName;
        Control = Path.Combine(Directory, "switch.sock");
    }

    public TestNetwork Network { get; } = new();

    public string Directory { get; }

    public string Control { get; }

    public SwitchProcess? Switch { get; private set; }

    /// <summary>Starts <c>userbridge run ARGS</c> with the lab's name and control socket, and waits until it runs.</summary>
    public SwitchProcess Start(params string[] arguments) => StartUnder([], arguments);

    /// <summary>Like <see cref="Start"/>, run by <paramref name="wrapper"/> (<see cref="SwitchProcess.LaunchUnder"/>).</summary>
    public SwitchProcess StartUnder(IReadOnlyList<string> wrapper, params string[] arguments) =>
        Switch = SwitchProcess.StartSwitchUnder(wrapper, [.. arguments, "--name", Network.Prefix, "--control", Control]);

    /// <summary>
    /// Starts the switch with a TAP port per host 1 to <paramref name="count"/> and puts each host behind its TAP, once
    /// the privileges and <paramref name="tools"/> (besides ping) are there.
    /// </summary>
    public SwitchProcess StartWithHosts(int count, params string[] tools)
    {
        Privileged.Require(["ping", .. tools]);
        var process = Start([.. Enumerable.Range(1, count).SelectMany(host => new[] { "--tap", Network.Tap(host) })]);
        for (var host = 1; host <= count; host++)
        {
            Network.AddHost(host);
        }

        return process;
    }

    /// <summary>Writes <paramref name="toml"/> as the lab's config file and returns its path.</summary>
    public string WriteConfig(string toml)
    {
        var path = Path.Combine(Directory, "switch.toml");
        File.WriteAllText(path, toml);
        return path;
    }

    /// <summary>A <c>[[port]]</c> named <c>pHOST</c> on host <paramref name="host"/>'s TAP, with <paramref name="extra"/> lines.</summary>
    public string TapPort(int host, string extra = "") => $"[[port]]\nname = \"p{host}\"\ninterface = \"{Network.Tap(host)}\"\n{extra}\n";

    /// <summary>TAP ports p1 to p<paramref name="count"/>, after <paramref name="header"/> (switch-wide keys).</summary>
    public string TapPorts(int count, string header = "") =>
        header + "\n" + string.Join('\n', Enumerable.Range(1, count).Select(host => TapPort(host)));

    /// <summary>
    /// The three offload pairings, all access ports of VLAN 10: an offload TAP (gso, host 1), a TAP without offloads
    /// (plain, host 2) and a packet port on a veth whose peer is host 3's interface (created here, up).
    /// </summary>
    public string OffloadPairingPorts(string veth)
    {
        Shell.Check("ip", "link", "add", veth, "type", "veth", "peer", "name", Network.Tap(3));
        Shell.Check("ip", "link", "set", veth, "up");
        return $"""
            [[port]]
            name = "gso"
            interface = "{Network.Tap(1)}"
            mode = "access"
            vlan = 10

            [[port]]
            name = "plain"
            interface = "{Network.Tap(2)}"
            offload = false
            mode = "access"
            vlan = 10

            [[port]]
            name = "veth"
            type = "packet"
            interface = "{veth}"
            mode = "access"
            vlan = 10
            """;
    }

    public void Dispose()
    {
        Switch?.Dispose();
        Network.Dispose();
        System.IO.Directory.Delete(Directory, recursive: true);
    }
}
