using System.Diagnostics;
using System.Globalization;

namespace UserBridge.Integration.Tests;

/// <summary>
/// A ping that runs while a test does something else, then is interrupted (by its own PID) for its summary: the way to
/// prove that traffic elsewhere lost nothing during churn, a flood or a stalled peer.
/// </summary>
internal sealed class BackgroundPing : IDisposable
{
    private readonly Process _ping;
    private readonly List<string> _lines = [];
    private readonly List<double> _roundTripsMs = [];
    private readonly Task _reader;
    private int _replies;

    private BackgroundPing(Process ping)
    {
        _ping = ping;
        _reader = Task.Run(ReadAsync);
    }

    /// <summary>The round trip of every reply so far, in milliseconds.</summary>
    public IReadOnlyList<double> RoundTripsMs
    {
        get
        {
            lock (_lines)
            {
                return [.. _roundTripsMs];
            }
        }
    }

    /// <summary>How many replies have come so far.</summary>
    public int Replies => Volatile.Read(ref _replies);

    /// <summary>Waits until <paramref name="count"/> replies have come in all; fails after <paramref name="deadline"/>.</summary>
    public void WaitForReplies(int count, TimeSpan deadline) =>
        Waiting.Until(() => Replies >= count, $"{count} ping replies (so far {Replies})", deadline, pollMilliseconds: 5);

    /// <summary>
    /// Starts pinging <paramref name="address"/> from namespace <paramref name="ns"/> every <paramref name="intervalSeconds"/>,
    /// until stopped or, with a <paramref name="count"/>, until that many were sent (<see cref="FinishAsync"/>).
    /// </summary>
    public static BackgroundPing Start(string ns, string address, double intervalSeconds, int? count = null) =>
        new(Process.Start(new ProcessStartInfo("ip", ["netns", "exec", ns, "ping", "-i", intervalSeconds.ToString(CultureInfo.InvariantCulture), .. count is { } pings ? new[] { "-c", pings.ToString(CultureInfo.InvariantCulture) } : [], address]) { RedirectStandardOutput = true })!);

    /// <summary>Waits for a ping started with a count to end by itself (every reply in or given up on); returns its summary lines.</summary>
    public async Task<string> FinishAsync(TimeSpan deadline)
    {
        await _reader.WaitAsync(deadline, TestContext.Current.CancellationToken);
        return Summary();
    }

    /// <summary>
    /// Interrupts the ping just after a reply (ip netns exec runs ping as this very process), so that no request is still
    /// in flight to count as lost, and returns its summary lines.
    /// </summary>
    public async Task<string> StopAsync()
    {
        var seen = Volatile.Read(ref _replies);
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (Volatile.Read(ref _replies) == seen && DateTime.UtcNow < deadline)
        {
            await Task.Delay(1, TestContext.Current.CancellationToken);
        }

        Shell.Check("kill", "-INT", _ping.Id.ToString(CultureInfo.InvariantCulture));
        await _reader.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
        return Summary();
    }

    private string Summary()
    {
        lock (_lines)
        {
            return string.Join('\n', _lines.SkipWhile(line => !line.Contains("ping statistics", StringComparison.Ordinal)));
        }
    }

    public void Dispose()
    {
        if (!_ping.HasExited)
        {
            _ping.Kill();
        }

        _ping.Dispose();
    }

    private async Task ReadAsync()
    {
        while (await _ping.StandardOutput.ReadLineAsync() is { } line)
        {
            if (line.Contains(" bytes from ", StringComparison.Ordinal))
            {
                var time = line.IndexOf(" time=", StringComparison.Ordinal);
                if (time >= 0 && double.TryParse(line.AsSpan(time + 6).TrimEnd(" ms"), NumberStyles.Float, CultureInfo.InvariantCulture, out var roundTripMs))
                {
                    lock (_lines)
                    {
                        _roundTripsMs.Add(roundTripMs);
                    }
                }

                Interlocked.Increment(ref _replies);
                continue;
            }

            lock (_lines)
            {
                _lines.Add(line);
            }
        }
    }
}

/// <summary>What <c>/proc</c> says of a process: resident memory, open fds, threads.</summary>
internal static class ProcessStatus
{
    public static long RssKib(int pid) =>
        long.Parse(File.ReadLines($"/proc/{pid}/status").First(line => line.StartsWith("VmRSS:", StringComparison.Ordinal))["VmRSS:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);

    public static int OpenFds(int pid) => Directory.GetFiles($"/proc/{pid}/fd").Length;

    public static int Threads(int pid) => Directory.GetDirectories($"/proc/{pid}/task").Length;
}
