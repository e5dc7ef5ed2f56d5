using System.Buffers.Binary;
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
    private readonly List<string> _printed = [];
    private readonly Task? _reader;
    private bool _disposed;

    private Tcpdump(Process process, bool printing)
    {
        _process = process;
        if (printing)
        {
            _reader = Task.Run(ReadPrintedAsync);
        }
    }

    /// <summary>Starts tcpdump writing <paramref name="file"/>, with more tcpdump <paramref name="options"/> if given.</summary>
    public static Tcpdump Start(string ns, string interfaceName, string file, string filter, params string[] options) =>
        Launch(ns, interfaceName, file, filter, printing: false, options);

    /// <summary>
    /// Starts tcpdump writing <paramref name="file"/> and printing each packet as it comes (<c>--print</c>, line-buffered),
    /// so that a test can wait for the packets it expects (<see cref="WaitFor"/>) instead of sleeping.
    /// </summary>
    public static Tcpdump Watch(string ns, string interfaceName, string file, string filter, params string[] options) =>
        Launch(ns, interfaceName, file, filter, printing: true, ["--print", "-l", .. options]);

    public static List<string> Read(string file) =>
        [.. Shell.Check("tcpdump", "-nn", "-r", file).Split('\n', StringSplitOptions.RemoveEmptyEntries)];

    /// <summary>
    /// The original length of every frame in a pcap file as tcpdump writes it (<c>-w</c>): what the interface carried,
    /// whatever the snap length kept.
    /// </summary>
    public static List<int> FrameLengths(string file)
    {
        var bytes = File.ReadAllBytes(file);
        Assert.True(bytes.Length >= 24, $"{file} has no pcap header");
        var magic = BinaryPrimitives.ReadUInt32LittleEndian(bytes);
        Assert.True(magic is 0xA1B2C3D4 or 0xA1B23C4D, $"{file} is not a little-endian pcap file (magic {magic:x8})");
        var lengths = new List<int>();
        for (var offset = 24; offset < bytes.Length;)
        {
            Assert.True(offset + 16 <= bytes.Length, $"{file} ends inside a record header at {offset}");
            var captured = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(offset + 8));
            lengths.Add(BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(offset + 12)));
            offset += 16 + captured;
        }

        return lengths;
    }

    /// <summary>The packets printed so far (all of them once disposed), one line each plus any hex dump lines.</summary>
    public List<string> Printed
    {
        get
        {
            lock (_printed)
            {
                return [.. _printed];
            }
        }
    }

    /// <summary>Waits until the packets printed so far satisfy <paramref name="condition"/>; fails after <paramref name="deadline"/>.</summary>
    public void WaitFor(Func<IReadOnlyList<string>, bool> condition, string what, TimeSpan deadline)
    {
        Assert.True(_reader is not null, "WaitFor needs a tcpdump started with Watch");
        Waiting.Until(
            () =>
            {
                lock (_printed)
                {
                    return condition(_printed);
                }
            },
            what,
            deadline);
    }

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
        _reader?.Wait(TimeSpan.FromSeconds(10));
        _process.Dispose();
    }

    private static Tcpdump Launch(string ns, string interfaceName, string file, string filter, bool printing, string[] options)
    {
        var start = new ProcessStartInfo("ip")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        string[] arguments = ["netns", "exec", ns, "tcpdump", "--immediate-mode", "-i", interfaceName, "-nn", "-U", "-w", file, .. options, filter];
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("cannot start tcpdump");
        var deadline = Stopwatch.StartNew();

        // tcpdump says "listening on IF" on stderr once its socket is bound.
        var line = process.StandardError.ReadLine();
        Assert.True(line is not null && line.Contains("listening on", StringComparison.Ordinal), $"tcpdump did not start: {line}");
        Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(20), "tcpdump took too long to start");
        return new Tcpdump(process, printing);
    }

    private async Task ReadPrintedAsync()
    {
        while (await _process.StandardOutput.ReadLineAsync() is { } line)
        {
            lock (_printed)
            {
                _printed.Add(line);
            }
        }
    }
}
