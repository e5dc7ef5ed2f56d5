namespace UserBridge.Integration.Tests;

/// <summary>
/// Every numeric flag of every command has a documented range: a value outside it is a usage error (exit 2) naming the
/// flag, the value and the range, before anything runs; never a stack trace or a raw .NET message. Nor is a start that
/// cannot open what the config asks.
/// </summary>
public sealed class CliLimitsTests : IDisposable
{
    private const int BadUsage = 2;

    private readonly string _directory = Directory.CreateTempSubdirectory("ub-flags-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    /// <summary>A command, its flag, the largest value it takes, the value past it, and the range the error names.</summary>
    public static TheoryData<string, string, string, string, string> Flags => new()
    {
        { "top", "--interval", "1000000", "1000001", "use 0.1 to 1000000 seconds" },
        { "top", "--count", "1000000", "1000001", "use 0 to 1000000" },
        { "monitor", "--count", "1000000000", "1000000001", "use 1 to 1000000000" },
        { "capture -w -", "--snaplen", "262144", "262145", "use 64 to 262144 bytes" },
        { "capture -w -", "--duration", "1000000", "1000001", "use 1 to 1000000 seconds" },
        { "capture start --file /var/tmp/ub-flags.pcapng", "--duration", "1000000", "1000001", "use 1 to 1000000 seconds" },
        { "capture start --file /var/tmp/ub-flags.pcapng", "--rotate-bytes", "1099511627776", "1099511627777", "use 1024 to 1099511627776 bytes" },
        { "capture start --file /var/tmp/ub-flags.pcapng --rotate-bytes 1024", "--keep-files", "100000", "100001", "use 1 to 100000" },
        { "fdb show", "--vlan", "4094", "4095", "use 0 to 4094" },
        { "fdb add 02:00:00:00:00:01 --port p1", "--vlan", "4094", "4095", "use 0 to 4094" },
        { "fdb del 02:00:00:00:00:01", "--vlan", "4094", "4095", "use 0 to 4094" },
        { "fdb flush", "--vlan", "4094", "4095", "use 0 to 4094" },
        { "vlan show", "--vlan", "4094", "4095", "use 1 to 4094" },
        { "port add p9 --interface ubflag0", "--vlan", "4094", "4095", "use 1 to 4094" },
        { "port set p1", "--native", "4094", "4095", "use 1 to 4094" },
        { "mirror add --source p1 --output p2", "--vlan", "4094", "4095", "use 1 to 4094" },
    };

    /// <summary>The same, at the smallest value and the one below it.</summary>
    public static TheoryData<string, string, string, string, string> Minima => new()
    {
        { "top", "--interval", "0.1", "0.05", "use 0.1 to 1000000 seconds" },
        { "top", "--interval", "0.1", "NaN", "use 0.1 to 1000000 seconds" },
        { "top", "--count", "0", "-1", "use 0 to 1000000" },
        { "monitor", "--count", "1", "0", "use 1 to 1000000000" },
        { "capture -w -", "--count", "1", "0", "use 1 to 9223372036854775807" },
        { "capture -w -", "--snaplen", "64", "63", "use 64 to 262144 bytes" },
        { "capture -w -", "--duration", "1", "0", "use 1 to 1000000 seconds" },
        { "capture start --file /var/tmp/ub-flags.pcapng", "--rotate-bytes", "1024", "1023", "use 1024 to 1099511627776 bytes" },
        { "capture stop", string.Empty, "1", "0", "use 1 to 2147483647" },
        { "fdb show", "--vlan", "0", "-1", "use 0 to 4094" },
        { "port set p1", "--vlan", "1", "0", "use 1 to 4094" },
        { "mirror add --source p1 --output p2", "--vlan", "1", "0", "use 1 to 4094" },
    };

    [Theory]
    [MemberData(nameof(Flags))]
    [MemberData(nameof(Minima))]
    public void AFlagOutsideItsRangeIsABadUsageNamingTheFlagAndTheRange(string command, string flag, string limit, string outside, string range)
    {
        var control = Path.Combine(_directory, "none.sock");
        var words = command.Split(' ');

        using (var accepted = SwitchProcess.Launch([.. words, .. Flag(flag, limit), "--control", control]))
        {
            // Nothing listens on the control socket: past the parser, the command fails to connect (exit 1).
            Assert.Equal(1, accepted.WaitForExit(TimeSpan.FromSeconds(20)));
            Assert.DoesNotContain(": use ", accepted.Errors, StringComparison.Ordinal);
        }

        using var refused = SwitchProcess.Launch([.. words, .. Flag(flag, outside), "--control", control]);
        Assert.Equal(BadUsage, refused.WaitForExit(TimeSpan.FromSeconds(20)));
        Assert.Contains($"{(flag.Length > 0 ? flag : "ID")} {outside}: {range}", refused.Errors, StringComparison.Ordinal);
        AssertNoStackTrace(refused);
    }

    [Theory]
    [InlineData("2147484")]
    [InlineData("1000001")]
    [InlineData("-1")]
    public void RunRefusesAStatsPeriodOutsideZeroToAMillionSecondsBeforeStarting(string seconds)
    {
        using var run = SwitchProcess.Launch("run", "--config", EmptyConfig(), "--name", "ubflags", "--control", Path.Combine(_directory, "run.sock"), "--stats", seconds);

        Assert.Equal(BadUsage, run.WaitForExit(TimeSpan.FromSeconds(20)));
        Assert.Contains($"--stats {seconds}: use 0 to 1000000 seconds (0: never)", run.Errors, StringComparison.Ordinal);
        Assert.DoesNotContain("running", run.Output, StringComparison.Ordinal);
        AssertNoStackTrace(run);
    }

    [Fact]
    public void RunTakesTheLongestStatsPeriodAndThePollerLimits()
    {
        using (var run = SwitchProcess.Launch("run", "--config", EmptyConfig(), "--name", "ubflags", "--control", Path.Combine(_directory, "run.sock"), "--stats", "1000000", "--pollers", "64"))
        {
            run.WaitForOutput("running:", TimeSpan.FromSeconds(20));
            Assert.Equal(0, run.Terminate(TimeSpan.FromSeconds(20)).ExitCode);
        }

        using var refused = SwitchProcess.Launch("run", "--config", EmptyConfig(), "--name", "ubflags", "--control", Path.Combine(_directory, "run.sock"), "--pollers", "65");
        Assert.Equal(BadUsage, refused.WaitForExit(TimeSpan.FromSeconds(20)));
        Assert.Contains("--pollers 65: use 0 to 64 (0: a thread per port)", refused.Errors, StringComparison.Ordinal);
    }

    [Fact]
    public void ANumberTooBigForItsTypeIsABadUsageNamingTheFlagToo()
    {
        using var refused = SwitchProcess.Launch("run", "--config", EmptyConfig(), "--stats", "99999999999");

        Assert.Equal(BadUsage, refused.WaitForExit(TimeSpan.FromSeconds(20)));
        Assert.Contains("--stats 99999999999: use 0 to 1000000 seconds (0: never)", refused.Errors, StringComparison.Ordinal);
        AssertNoStackTrace(refused);
    }

    [Theory]
    [InlineData("[capture]\nfile = \"/dev/null/ub.pcapng\"\n", "/dev/null/ub.pcapng: cannot write the capture")]
    [InlineData("[capture]\nfile = \"/var/tmp/ub-limits.pcapng\"\nfilter = \"no such (filter\"\n", "no such (filter")]
    [InlineData("metrics = \"198.18.255.254:9464\"\n", "Cannot assign requested address")]
    public void AStartThatCannotOpenWhatTheConfigAsksFailsWithTheReasonAndNoStackTrace(string toml, string reason)
    {
        var path = Path.Combine(_directory, "start.toml");
        File.WriteAllText(path, toml);
        using var run = SwitchProcess.Launch("run", "--config", path, "--name", "ubflags", "--control", Path.Combine(_directory, "start.sock"), "--stats", "0");

        Assert.Equal(1, run.WaitForExit(TimeSpan.FromSeconds(20)));
        Assert.StartsWith("userbridge run: ", run.Errors, StringComparison.Ordinal);
        Assert.Contains(reason, run.Errors, StringComparison.Ordinal);
        AssertNoStackTrace(run);
    }

    private static string[] Flag(string flag, string value) => flag.Length > 0 ? [flag, value] : [value];

    private static void AssertNoStackTrace(SwitchProcess process)
    {
        Assert.DoesNotContain("Unhandled exception", process.Errors, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", process.Errors, StringComparison.Ordinal);
        Assert.DoesNotContain("System.", process.Errors, StringComparison.Ordinal);
    }

    private string EmptyConfig()
    {
        var path = Path.Combine(_directory, "empty.toml");
        File.WriteAllText(path, "# no ports: they come with port add\n");
        return path;
    }
}
