using UserBridge.Linux;

namespace UserBridge.Integration.Tests;

/// <summary>
/// Gate for tests that need root, /dev/net/tun and iproute2. They skip with the reason when these are missing,
/// unless USERBRIDGE_REQUIRE_PRIVILEGED=1 (set by .ci/run), which turns the skip into a failure.
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

        foreach (var tool in tools.Prepend("ip"))
        {
            if (!OnPath(tool))
            {
                missing.Add($"the '{tool}' command");
            }
        }

        if (missing.Count == 0)
        {
            return;
        }

        var reason = "privileged test needs " + string.Join(", ", missing);
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
