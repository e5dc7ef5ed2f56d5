using System.Diagnostics;
using Tmds.Linux;

namespace UserBridge.Integration.Tests;

/// <summary>
/// tcpdump in a namespace, writing a pcap file; Dispose stops it (SIGINT, by PID) and waits for the file. It runs in
/// immediate mode: otherwise libpcap hands packets over a ring block at a time, after up to a second, and a tcpdump
/// stopped sooner exits with packets "received by filter" but never written.
/// </summary>
internal sealed class Tcpdump : IDisposable
{
    private readonly Process _process;
    private bool _disposed;

    private Tcpdump(Process process) => _process = process;

    public static Tcpdump Start(string ns, string interfaceName, string file, string filter)
    {
        var start = new ProcessStartInfo("ip")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "netns", "exec", ns, "tcpdump", "--immediate-mode", "-i", interfaceName, "-nn", "-U", "-w", file, filter })
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("cannot start tcpdump");
        var deadline = Stopwatch.StartNew();

        // tcpdump says "listening on IF" on stderr once its socket is bound.
        var line = process.StandardError.ReadLine();
        Assert.True(line is not null && line.Contains("listening on", StringComparison.Ordinal), $"tcpdump did not start: {line}");
        Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(20), "tcpdump took too long to start");
        return new Tcpdump(process);
    }

    public static List<string> Read(string file) =>
        [.. Shell.Check("tcpdump", "-nn", "-r", file).Split('\n', StringSplitOptions.RemoveEmptyEntries)];

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (!_process.HasExited)
        {
            _ = LibC.kill(_process.Id, LibC.SIGINT);
            if (!_process.WaitForExit(TimeSpan.FromSeconds(10)))
            {
                _process.Kill(entireProcessTree: true);
            }
        }

        _process.WaitForExit();
        _process.Dispose();
    }
}
