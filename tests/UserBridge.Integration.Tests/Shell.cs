using UserBridge.Linux.Host;


namespace UserBridge.Integration.Tests;

internal static class Shell
{
    /// <summary>Runs a command that must succeed; the assertion message carries its error output.</summary>
    public static string Check(string file, params string[] arguments)
    {
        var result = ExternalCommand.Run(file, arguments);
        Assert.True(result.ExitCode == 0, $"`{file} {string.Join(' ', arguments)}` failed (exit {result.ExitCode}): {result.Error}{result.Output}");
        return result.Output;
    }

    public static ExternalCommand.Result Run(string file, params string[] arguments) => ExternalCommand.Run(file, arguments);
}
