namespace UserBridge.Tests.Shared;

/// <summary>
/// How long each fuzz target runs: <see cref="SmokeIterations"/> inputs in CI; a longer local run with
/// <c>UB_FUZZ_SECONDS=N UB_FUZZ_LOG=FILE dotnet test --filter-class "*Fuzz*"</c> (N seconds per target, the inputs
/// tried written to FILE). A failure prints the CsCheck seed that reproduces it (<c>CsCheck_Seed=SEED</c>).
/// </summary>
internal static class FuzzBudget
{
    public const int SmokeIterations = 20_000;

    /// <summary>The iteration count and seconds to pass to CsCheck's <c>Sample</c>.</summary>
    public static (long Iterations, int Seconds) Current =>
        int.TryParse(Environment.GetEnvironmentVariable("UB_FUZZ_SECONDS"), out var seconds) && seconds > 0
            ? (-1, seconds)
            : (SmokeIterations, -1);

    /// <summary>
    /// Where CsCheck's summary (inputs tried, time) goes: the test's diagnostics, and the file <c>UB_FUZZ_LOG</c> names,
    /// for the long run's figures.
    /// </summary>
    public static Action<string> Report => line =>
    {
        var test = TestContext.Current.Test?.TestDisplayName ?? "fuzz";
        TestContext.Current.SendDiagnosticMessage($"{test}: {line}");
        if (Environment.GetEnvironmentVariable("UB_FUZZ_LOG") is { Length: > 0 } log)
        {
            File.AppendAllText(log, $"{test}: {line}{Environment.NewLine}");
        }
    };
}
