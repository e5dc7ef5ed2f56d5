namespace UserBridge.Linux.Host;

/// <summary>A network namespace used as a host behind a switch port (the lab's, the tests' and the benchmarks').</summary>
public static class HostNamespace
{
    /// <summary>
    /// Creates namespace <paramref name="ns"/>, moves the switch's TAP <paramref name="tap"/> into it and gives it
    /// <paramref name="addressWithPrefix"/>, IPv6 off (no router solicitations in the counters) and no route but
    /// the connected one. The switch keeps its fd through the move; the move takes the link down, so it is
    /// brought up again inside.
    /// </summary>
    public static void Create(string ns, string tap, string addressWithPrefix)
    {
        ExternalCommand.Check("ip", "netns", "add", ns);
        ExternalCommand.Check("ip", "link", "set", "dev", tap, "netns", ns);
        ExternalCommand.Check("ip", "netns", "exec", ns, "sysctl", "-qw", $"net.ipv6.conf.{tap}.disable_ipv6=1");
        ExternalCommand.Check("ip", "-n", ns, "address", "add", addressWithPrefix, "dev", tap);
        ExternalCommand.Check("ip", "-n", ns, "link", "set", "dev", tap, "up");
        ExternalCommand.Check("ip", "-n", ns, "link", "set", "dev", "lo", "up");
    }
}
