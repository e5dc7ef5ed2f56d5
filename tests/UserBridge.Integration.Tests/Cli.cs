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

    public static JsonElement Json(params string[] arguments)
    {
        using var document = JsonDocument.Parse(Run(arguments));
        return document.RootElement.Clone();
    }
}
