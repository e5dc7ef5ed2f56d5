using System.Collections.Concurrent;
using System.Diagnostics;
using Tmds.Linux;

namespace UserBridge.Integration.Tests;

/// <summary>
/// The real <c>userbridge</c> program, built next to this test project, run as a child process. Dispose ends it
/// by its PID (SIGTERM, then SIGKILL after a deadline) if the test did not stop it.
/// </summary>
internal sealed class SwitchProcess : IDisposable
{
    private static readonly TimeSpan StartDeadline = TimeSpan.FromSeconds(20);
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();
    private readonly ConcurrentQueue<string> _errors = new();

    private SwitchProcess(Process process)
    {
        _process = process;
        process.OutputDataReceived += (_, e) => Enqueue(_output, e.Data);
        process.ErrorDataReceived += (_, e) => Enqueue(_errors, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public string Output => string.Join('\n', _output);

    public string Errors => string.Join('\n', _errors);

    public int Pid => _process.Id;

    /// <summary>The clone the tests were built in (where UserBridge.sln is).</summary>
    public static string RepositoryRoot
    {
        get
        {
            var directory = new DirectoryInfo(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory));
            while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "UserBridge.sln")))
            {
                directory = directory.Parent;
            }

            Assert.NotNull(directory);
            return directory.FullName;
        }
    }

    public static string ProgramPath
    {
        get
        {
            var configuration = new DirectoryInfo(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory)).Parent?.Name ?? "Debug";
            var path = Path.Combine(RepositoryRoot, "src", "UserBridge.Cli", "bin", configuration, "net10.0", "userbridge");
            Assert.True(File.Exists(path), $"the userbridge program was not built at {path}");
            return path;
        }
    }

    /// <summary>Starts <c>userbridge ARGS</c> and returns at once.</summary>
    public static SwitchProcess Launch(params string[] arguments) => LaunchWith(new Dictionary<string, string>(), arguments);

    /// <summary>Starts <c>userbridge ARGS</c> with these environment variables added, and returns at once.</summary>
    public static SwitchProcess LaunchWith(IReadOnlyDictionary<string, string> environment, params string[] arguments) =>
        LaunchUnder([], environment, arguments);

    /// <summary>
    /// Starts <c>WRAPPER... userbridge ARGS</c> and returns at once: a wrapper that ends by executing its command (such as
    /// <c>prlimit --nofile=400:400 --</c>) leaves the switch with the PID of the process started here.
    /// </summary>
    public static SwitchProcess LaunchUnder(IReadOnlyList<string> wrapper, IReadOnlyDictionary<string, string> environment, params string[] arguments)
    {
        var start = new ProcessStartInfo(wrapper.Count > 0 ? wrapper[0] : ProgramPath)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        foreach (var argument in wrapper.Count > 0 ? [.. wrapper.Skip(1), ProgramPath, .. arguments] : arguments)
        {
            start.ArgumentList.Add(argument);
        }

        return new SwitchProcess(Process.Start(start) ?? throw new InvalidOperationException("cannot start userbridge"));
    }

    /// <summary>Starts <c>userbridge run ARGS</c> and waits until it says it is running.</summary>
    public static SwitchProcess StartSwitch(params string[] arguments) => StartSwitchUnder([], arguments);

    /// <summary>Starts <c>WRAPPER... userbridge run ARGS</c> (see <see cref="LaunchUnder"/>) and waits until it runs.</summary>
    public static SwitchProcess StartSwitchUnder(IReadOnlyList<string> wrapper, params string[] arguments)
    {
        var process = LaunchUnder(wrapper, new Dictionary<string, string>(), ["run", "--stats", "0", .. arguments]);
        try
        {
            process.WaitForOutput("running:", StartDeadline);
            return process;
        }
        catch
        {
            process.Dispose();
            throw;
        }
    }

    public void WaitForOutput(string text, TimeSpan deadline)
    {
        var watch = Stopwatch.StartNew();
        while (!_output.Any(line => line.Contains(text, StringComparison.Ordinal)))
        {
            if (_process.WaitForExit(20))
            {
                _process.WaitForExit();
                Assert.True(_output.Any(line => line.Contains(text, StringComparison.Ordinal)), $"userbridge exited ({_process.ExitCode}) before printing '{text}'.\nstdout:\n{Output}\nstderr:\n{Errors}");
                return;
            }

            Assert.True(watch.Elapsed < deadline, $"userbridge did not print '{text}' within {deadline}.\nstdout:\n{Output}\nstderr:\n{Errors}");
        }
    }

    /// <summary>Sends SIGTERM and waits for the exit; returns the exit code and how long the exit took.</summary>
    public (int ExitCode, TimeSpan Elapsed) Terminate(TimeSpan deadline)
    {
        var watch = Stopwatch.StartNew();
        Assert.Equal(0, LibC.kill(_process.Id, LibC.SIGTERM));
        Assert.True(_process.WaitForExit(deadline), $"userbridge did not exit within {deadline} of SIGTERM.\nstdout:\n{Output}\nstderr:\n{Errors}");
        _process.WaitForExit();
        return (_process.ExitCode, watch.Elapsed);
    }

    public int WaitForExit(TimeSpan deadline)
    {
        Assert.True(_process.WaitForExit(deadline), $"userbridge did not finish within {deadline}.\nstdout:\n{Output}\nstderr:\n{Errors}");
        _process.WaitForExit();
        return _process.ExitCode;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _ = LibC.kill(_process.Id, LibC.SIGTERM);
            if (!_process.WaitForExit(TimeSpan.FromSeconds(5)))
            {
                _process.Kill();
                _process.WaitForExit();
            }
        }

        _process.Dispose();
    }

    private static void Enqueue(ConcurrentQueue<string> queue, string? line)
    {
        if (line is not null)
        {
            queue.Enqueue(line);
        }
    }
}
