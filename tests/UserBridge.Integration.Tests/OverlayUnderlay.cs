namespace UserBridge.Integration.Tests;

/// <summary>
/// An underlay for overlay tests: a kernel bridge in its own namespace joins VTEP namespaces by veths, VTEP N at
/// 198.19.0.N/24 and 2001:2::N/64 (both benchmarking ranges). A VTEP namespace holds a UserBridge's overlay socket (<c>netns</c>) or a kernel <c>vxlan</c> device
/// bridged to a host. Everything is named with the test's prefix and removed on dispose.
/// </summary>
internal sealed class OverlayUnderlay : IDisposable
{
    /// <summary>The MTU of hosts behind the overlay: 1500 less VXLAN's 50 bytes, as the kernel sizes vxlan devices.</summary>
    public const string HostMtu = "1450";

    /// <summary>The same over an IPv6 underlay: VXLAN adds 70 bytes there.</summary>
    public const string HostMtuIpv6 = "1430";

    private readonly string _prefix;
    private readonly List<string> _namespaces = [];

    public OverlayUnderlay(string prefix)
    {
        _prefix = prefix;
        AddNamespace(Switch);
        Shell.Check("ip", "-n", Switch, "link", "add", $"{prefix}-us", "type", "bridge");
        Shell.Check("ip", "-n", Switch, "link", "set", $"{prefix}-us", "up");
    }

    /// <summary>The namespace of the underlay's own switch (a kernel bridge).</summary>
    public string Switch => $"{_prefix}-us";

    public static string Address(int vtep, bool ipv6 = false) => ipv6 ? $"2001:2::{vtep}" : $"198.19.0.{vtep}";

    public string Namespace(int vtep) => $"{_prefix}-u{vtep}";

    /// <summary>Creates VTEP namespace <paramref name="vtep"/> with its underlay address on a veth to the underlay bridge.</summary>
    public string AddVtep(int vtep)
    {
        var ns = Namespace(vtep);
        AddNamespace(ns);
        var inside = $"{_prefix}-v{vtep}";
        Shell.Check("ip", "-n", ns, "link", "add", inside, "type", "veth", "peer", "name", $"{_prefix}-w{vtep}", "netns", Switch);
        Shell.Check("ip", "-n", Switch, "link", "set", $"{_prefix}-w{vtep}", "master", $"{_prefix}-us", "up");
        Shell.Check("ip", "-n", ns, "address", "add", $"{Address(vtep)}/24", "dev", inside);
        Shell.Check("ip", "-n", ns, "address", "add", $"{Address(vtep, ipv6: true)}/64", "dev", inside, "nodad");
        Shell.Check("ip", "-n", ns, "link", "set", inside, "up");

        // A veth passes checksums still to be done (CHECKSUM_PARTIAL) to the other namespace, where a UDP socket would get
        // a kernel VTEP's inner TCP checksums unfinished; a real wire has them done. tx off makes the kernel finish them.
        Shell.Check("ip", "netns", "exec", ns, "ethtool", "-K", inside, "tx", "off");
        return ns;
    }

    /// <summary>
    /// A kernel VTEP in VTEP namespace <paramref name="vtep"/>: a <c>vxlan</c> device for <paramref name="vni"/> flooding to
    /// <paramref name="remotes"/>, bridged with a veth to host namespace <paramref name="hostNs"/>, whose end
    /// <paramref name="hostInterface"/> gets <paramref name="hostAddress"/> and the overlay's MTU.
    /// </summary>
    /// <remarks>With <paramref name="group"/>, floods go to that multicast group (joined on the underlay veth) instead of the remotes.</remarks>
    public void KernelVtep(int vtep, int vni, IReadOnlyList<int> remotes, string hostNs, string hostInterface, string hostAddress, bool ipv6 = false, string? group = null)
    {
        var ns = AddVtep(vtep);
        AddNamespace(hostNs);
        var device = $"{_prefix}-x{vtep}";
        var bridge = $"{_prefix}-k{vtep}";
        var port = $"{_prefix}-y{vtep}";
        string[] flooding = group is null ? [] : ["group", group, "dev", $"{_prefix}-v{vtep}"];
        Shell.Check("ip", ["-n", ns, "link", "add", device, "type", "vxlan", "id", $"{vni}", "local", Address(vtep, ipv6), "dstport", "4789", .. flooding]);
        foreach (var remote in remotes)
        {
            Shell.Check("ip", "netns", "exec", ns, "bridge", "fdb", "append", "00:00:00:00:00:00", "dev", device, "dst", Address(remote, ipv6));
        }

        Shell.Check("ip", "-n", ns, "link", "add", bridge, "type", "bridge");
        Shell.Check("ip", "-n", ns, "link", "add", port, "type", "veth", "peer", "name", hostInterface, "netns", hostNs);
        foreach (var member in new[] { device, port })
        {
            Shell.Check("ip", "-n", ns, "link", "set", member, "mtu", ipv6 ? HostMtuIpv6 : HostMtu, "master", bridge, "up");
        }

        Shell.Check("ip", "-n", ns, "link", "set", bridge, "up");
        Shell.Check("ip", "netns", "exec", hostNs, "sysctl", "-qw", $"net.ipv6.conf.{hostInterface}.disable_ipv6=1");
        Shell.Check("ip", "-n", hostNs, "address", "add", hostAddress, "dev", hostInterface);
        Shell.Check("ip", "-n", hostNs, "link", "set", hostInterface, "mtu", ipv6 ? HostMtuIpv6 : HostMtu, "up");
        Shell.Check("ip", "-n", hostNs, "link", "set", "lo", "up");
    }

    /// <summary>The <c>[[port]]</c> of a UserBridge VXLAN port in VTEP namespace <paramref name="vtep"/>, to <paramref name="remotes"/>.</summary>
    public string VxlanPort(int vtep, IReadOnlyList<int> remotes, string vnis, bool ipv6 = false) =>
        $"[[port]]\nname = \"vx\"\ntype = \"vxlan\"\n{vnis}\nnetns = \"{Namespace(vtep)}\"\nlocal = \"{Address(vtep, ipv6)}\"\n"
        + (remotes.Count > 0 ? $"remotes = [{string.Join(", ", remotes.Select(remote => $"\"{Address(remote, ipv6)}\""))}]\n\n" : "\n");

    public void Dispose()
    {
        foreach (var ns in Enumerable.Reverse(_namespaces))
        {
            Shell.Run("ip", "netns", "delete", ns);
        }
    }

    private void AddNamespace(string ns)
    {
        Shell.Check("ip", "netns", "add", ns);
        _namespaces.Add(ns);
    }
}
