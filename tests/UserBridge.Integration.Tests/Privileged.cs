using UserBridge.Linux.Host;


namespace UserBridge.Integration.Tests;

/// <summary>
/// Gates for tests that need root, /dev/net/tun and iproute2, or QEMU and what builds the guest image. They skip
/// with the reason when these are missing, unless USERBRIDGE_REQUIRE_PRIVILEGED=1 (set by .ci/run), which turns
/// the skip into a failure.
/// </summary>
internal static class Privileged
{
    public const string RequireVariable = "USERBRIDGE_REQUIRE_PRIVILEGED";

    public static void Require(params string[] tools)
    {
        var missing = new List<string>();
        if (!Privileges.IsRoot)
        {
            missing.Add("root (network namespaces and TAP devices)");
        }

        if (!File.Exists("/dev/net/tun"))
        {
            missing.Add("/dev/net/tun");
        }

        MissingTools(missing, tools.Prepend("ip"));
        SkipOrFail("privileged test", missing);
    }

    /// <summary>
    /// QEMU guests (<see cref="QemuGuest"/>) need no root by themselves: QEMU, and the tools build-guest.sh uses
    /// to make the guest image from Debian packages (busybox-static, cpio, kmod, apt, iproute2).
    /// </summary>
    public static void RequireGuests()
    {
        var missing = new List<string>();
        MissingTools(missing, [QemuGuest.Program, "apt-get", "dpkg", "cpio", "depmod", "busybox", "ip"]);
        SkipOrFail("QEMU guest test", missing);
    }

    /// <summary>Guests on the switch: what <see cref="RequireGuests"/> needs, and root with <paramref name="tools"/>.</summary>
    public static void RequireGuestsOnSwitch(params string[] tools)
    {
        RequireGuests();
        Require(tools);
    }

    private static void MissingTools(List<string> missing, IEnumerable<string> tools)
    {
        foreach (var tool in tools)
        {
            if (!OnPath(tool))
            {
                missing.Add($"the '{tool}' command");
            }
        }
    }

    private static void SkipOrFail(string kind, List<string> missing)
    {
        if (missing.Count == 0)
        {
            return;
        }

        var reason = $"{kind} needs " + string.Join(", ", missing);
        if (Environment.GetEnvironmentVariable(RequireVariable) == "1")
        {
            Assert.Fail($"{reason}, and {RequireVariable}=1 forbids skipping it");
        }

        Assert.Skip(reason);
    }

    private static bool OnPath(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin")
            .Split(':')
            .Concat(["/usr/sbin", "/sbin"])
            .Any(dir => File.Exists(Path.Combine(dir, tool)));
}
