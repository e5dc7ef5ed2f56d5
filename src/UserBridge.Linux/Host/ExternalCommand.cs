using System.Diagnostics;

namespace UserBridge.Linux.Host;

/// <summary>Runs a system tool (ip, ping) and returns what it printed; failures name the command and its output.</summary>
public static class ExternalCommand
{
    public sealed record Result(int ExitCode, string Output, string Error);

    public static Result Run(string file, params string[] arguments)
    {
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {file}");
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return new Result(process.ExitCode, output, error.GetAwaiter().GetResult());
    }

    /// <summary>Runs the command and throws, with its words and its error output, when it fails.</summary>
    public static string Check(string file, params string[] arguments)
    {
        var result = Run(file, arguments);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"`{file} {string.Join(' ', arguments)}` failed (exit {result.ExitCode}): {result.Error.Trim()}");
        }

        return result.Output;
    }
}
