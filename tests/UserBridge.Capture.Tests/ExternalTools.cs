using System.Diagnostics;

namespace UserBridge.Capture.Tests;

/// <summary>
/// Runs the real readers of pcapng (tshark, tcpdump). A test that needs one skips with the reason when it is missing,
/// unless USERBRIDGE_REQUIRE_PRIVILEGED=1 (set by .ci/run), which turns the skip into a failure.
/// </summary>
internal static class ExternalTools
{
    public const string RequireVariable = "USERBRIDGE_REQUIRE_PRIVILEGED";

    private static readonly TimeSpan RunDeadline = TimeSpan.FromSeconds(60);

    public static void Require(params string[] tools)
    {
        var missing = tools.Where(tool => !OnPath(tool)).Select(tool => $"the '{tool}' command").ToList();
        if (missing.Count == 0)
        {
            return;
        }

        var reason = "pcapng reader test needs " + string.Join(", ", missing);
        if (Environment.GetEnvironmentVariable(RequireVariable) == "1")
        {
            Assert.Fail($"{reason}, and {RequireVariable}=1 forbids skipping it");
        }

        Assert.Skip(reason);
    }

    /// <summary>Runs <paramref name="tool"/> and returns its standard output, failing the test on a non-zero exit.</summary>
    public static string Run(string tool, params string[] arguments)
    {
        var startInfo = new ProcessStartInfo(tool)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        using var process = Process.Start(startInfo) ?? throw new InvalidOperationException($"could not start {tool}");
        var output = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var error = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        if (!process.WaitForExit(RunDeadline))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{tool} {string.Join(' ', arguments)} did not exit within {RunDeadline.TotalSeconds} s");
        }

        Assert.True(
            process.ExitCode == 0,
            $"{tool} {string.Join(' ', arguments)} exited with {process.ExitCode}: {error.GetAwaiter().GetResult()}");
        return output.GetAwaiter().GetResult();
    }

    private static bool OnPath(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin")
            .Split(':')
            .Concat(["/usr/sbin", "/sbin"])
            .Any(dir => File.Exists(Path.Combine(dir, tool)));
}
