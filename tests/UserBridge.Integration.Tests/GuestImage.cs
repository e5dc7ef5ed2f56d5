using System.Diagnostics;

namespace UserBridge.Integration.Tests;

/// <summary>
/// The kernel and initramfs of the test guests, made by tests/guest/build-guest.sh from Debian packages. The script
/// runs once per test run and caches its result between runs (in /var/cache/userbridge-guest for root; the
/// USERBRIDGE_GUEST_CACHE variable names another directory).
/// </summary>
internal sealed record GuestImage(string KernelPath, string InitrdPath)
{
    public const string CacheVariable = "USERBRIDGE_GUEST_CACHE";

    /// <summary>A first build downloads a ~70 MB kernel package; a cached one takes a fraction of a second.</summary>
    private static readonly TimeSpan BuildDeadline = TimeSpan.FromMinutes(10);

    private static readonly Lazy<GuestImage> Built = new(Build);

    /// <summary>Builds the image on the first call of the test run; a failed build fails every later call too.</summary>
    public static GuestImage Ensure() => Built.Value;

    private static GuestImage Build()
    {
        var script = Path.Combine(RepositoryRoot(), "tests", "guest", "build-guest.sh");
        var start = new ProcessStartInfo("bash")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(script);
        var cache = Environment.GetEnvironmentVariable(CacheVariable);
        if (!string.IsNullOrEmpty(cache))
        {
            start.ArgumentList.Add(cache);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {script}");
        var errors = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEndAsync();
        if (!process.WaitForExit(BuildDeadline))
        {
            process.Kill(entireProcessTree: true);
        }

        process.WaitForExit();
        var progress = errors.GetAwaiter().GetResult();
        var paths = output.GetAwaiter().GetResult().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.True(
            process.ExitCode == 0 && paths.Length == 2 && paths.All(File.Exists),
            $"{script} failed (exit {process.ExitCode}, deadline {BuildDeadline}); stdout: {string.Join(' ', paths)}\n{progress}");
        TestContext.Current.TestOutputHelper?.WriteLine(progress.TrimEnd());
        return new GuestImage(paths[0], paths[1]);
    }

    private static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "UserBridge.sln")))
        {
            directory = directory.Parent;
        }

        Assert.True(directory is not null, $"no UserBridge.sln above {AppContext.BaseDirectory}");
        return directory.FullName;
    }
}
