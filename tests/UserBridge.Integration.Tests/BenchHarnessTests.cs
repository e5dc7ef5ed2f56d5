using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace UserBridge.Integration.Tests;

/// <summary>The end-to-end benchmark harness still runs: its smoke mode measures UserBridge and the Linux bridge.</summary>
public sealed partial class BenchHarnessTests : IDisposable
{
    private readonly string _out = Directory.CreateTempSubdirectory("ub-e2e-smoke-").FullName;

    public void Dispose() => Directory.Delete(_out, recursive: true);

    [Fact]
    public async Task TheSmokeRunMeasuresUserBridgeAndTheLinuxBridgeAndWritesTheReport()
    {
        Privileged.Require("iperf3", "gcc", "ping");
        var script = Path.Combine(SwitchProcess.RepositoryRoot, "bench", "e2e", "run.sh");
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { script, "--smoke", "--out", _out })
        {
            start.ArgumentList.Add(argument);
        }

        using var run = Process.Start(start)!;
        var output = run.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var errors = run.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        Assert.True(run.WaitForExit(TimeSpan.FromMinutes(5)), "the smoke run did not finish in 5 minutes");
        Assert.True(run.ExitCode == 0, $"run.sh --smoke failed ({run.ExitCode}):\n{await errors}\n{await output}");

        var report = File.ReadAllText(Path.Combine(_out, "RESULTS.md"));
        // The first table holds the measurements; the ratio table below repeats the system names.
        foreach (var system in new[] { "userbridge", "kbridge" })
        {
            var row = report.Split('\n').First(line => line.StartsWith($"| {system} | ", StringComparison.Ordinal));
            var tcp = double.Parse(row.Split('|')[2].Trim(), System.Globalization.CultureInfo.InvariantCulture);
            Assert.True(tcp > 0.1, $"{system} moved no TCP: {row}");
        }

        // The README's claim: no garbage collection while traffic flows. The report sums the switch's gen0 count over the
        // UserBridge tests (from its stats line before and after each); every test must have been measured.
        var gc = GcLine().Match(report);
        Assert.True(gc.Success, $"the report has no garbage collection line:\n{report}");
        Assert.True(int.Parse(gc.Groups["tests"].Value, CultureInfo.InvariantCulture) > 0, gc.Value);
        Assert.Equal("0", gc.Groups["count"].Value);
        Assert.True(new FileInfo(Path.Combine(_out, "results.png")).Length > 1000, "no chart was drawn");
    }

    [GeneratedRegex(@"UserBridge garbage collections during its tests: (?<count>\S+) \(gen0, summed over (?<tests>\d+) tests\)\.")]
    private static partial Regex GcLine();
}
