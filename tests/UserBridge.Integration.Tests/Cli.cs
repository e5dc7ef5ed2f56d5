using System.Text.Json;

namespace UserBridge.Integration.Tests;

/// <summary>Runs a short `userbridge` command (fdb show, port show) and returns its output.</summary>
internal static class Cli
{
    public static string Run(params string[] arguments)
    {
        using var process = SwitchProcess.Launch(arguments);
        var exitCode = process.WaitForExit(TimeSpan.FromSeconds(20));
        Assert.True(exitCode == 0, $"userbridge {string.Join(' ', arguments)} exited {exitCode}: {process.Errors}");
        return process.Output;
    }

    /// <summary>Runs a command that must fail; returns what it said on stderr.</summary>
    public static string Fail(params string[] arguments)
    {
        using var process = SwitchProcess.Launch(arguments);
        var exitCode = process.WaitForExit(TimeSpan.FromSeconds(20));
        Assert.True(exitCode != 0, $"userbridge {string.Join(' ', arguments)} succeeded: {process.Output}");
        return process.Errors;
    }

    public static JsonElement Json(params string[] arguments)
    {
        using var document = JsonDocument.Parse(Run(arguments));
        return document.RootElement.Clone();
    }
}
