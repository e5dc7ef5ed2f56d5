using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Tmds.Linux;

namespace UserBridge.Integration.Tests;

/// <summary>
/// One QEMU guest (TCG, no KVM) booted from <see cref="GuestImage"/>: its /init configures eth0 from the kernel
/// command line, runs the test script (passed through fw_cfg), prints <c>UB-RESULT rc=N</c> on the serial
/// console and powers off. tests/guest/README.md describes the guest. Dispose kills QEMU by its PID if it is
/// still running and deletes the guest's temporary files.
/// </summary>
internal sealed partial class QemuGuest : IDisposable
{
    public const string Program = "qemu-system-x86_64";

    /// <summary>The guest's RAM (<c>-m</c>), in MiB; <see cref="SharedMemory"/> has the same size.</summary>
    public const int MemoryMiB = 256;

    /// <summary>After the result line the guest powers off; QEMU exits within a second.</summary>
    private static readonly TimeSpan PowerOffDeadline = TimeSpan.FromSeconds(20);

    private readonly Process _process;
    private readonly string _directory;
    private readonly Stopwatch _clock;
    private readonly ConcurrentQueue<string> _console = new();
    private readonly ConcurrentQueue<string> _errors = new();
    private long _bootTicks = -1;
    private bool _disposed;

    private QemuGuest(string name, string mac, Process process, string directory, Stopwatch clock)
    {
        Name = name;
        Mac = mac;
        _process = process;
        _directory = directory;
        _clock = clock;
        process.OutputDataReceived += (_, e) => OnConsoleLine(e.Data);
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                _errors.Enqueue(e.Data);
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public string Name { get; }

    public string Mac { get; }

    /// <summary>From starting QEMU to the first line the guest's init printed; null until then.</summary>
    public TimeSpan? BootTime
    {
        get
        {
            var ticks = Interlocked.Read(ref _bootTicks);
            return ticks < 0 ? null : TimeSpan.FromTicks(ticks);
        }
    }

    public bool HasExited => _process.HasExited;

    /// <summary>The console lines so far.</summary>
    public IReadOnlyCollection<string> Console => _console;

    /// <summary>The <c>-device</c> arguments of a virtio NIC on netdev <paramref name="netdevId"/>.</summary>
    /// <remarks>No option ROM (<c>romfile=</c>): the guest boots from -kernel, and iPXE would cost ~0.7 s under TCG.</remarks>
    public static string[] VirtioNic(string netdevId, string mac) => ["-device", $"virtio-net-pci,netdev={netdevId},mac={mac},romfile="];

    /// <summary>
    /// The <c>-device</c> arguments of a virtio NIC on vhost-user netdev <paramref name="netdevId"/>: without MSI-X
    /// (<c>vectors=0</c>), as QEMU 7.2 under TCG segfaults when the guest starts a vhost-user NIC that has it (irqfd is
    /// KVM-only); with more than one queue pair, multiqueue (<c>mq=on</c>).
    /// </summary>
    public static string[] VhostUserNic(string netdevId, string mac, int queuePairs = 1) =>
        ["-device", $"virtio-net-pci,netdev={netdevId},mac={mac},romfile=,vectors=0{(queuePairs > 1 ? ",mq=on" : string.Empty)}"];

    /// <summary>The guest's RAM as a shared memfd, which a vhost-user backend maps (the machine's memory backend).</summary>
    public static string[] SharedMemory => ["-object", $"memory-backend-memfd,id=mem,size={MemoryMiB}M,share=on", "-machine", "memory-backend=mem"];

    /// <summary>
    /// Starts a guest and returns at once. <paramref name="netdevArguments"/> are QEMU's network arguments, a
    /// <c>-netdev</c> and its device (see <see cref="VirtioNic"/>); the guest's init checks that eth0 has
    /// <paramref name="mac"/> and gives it <paramref name="ipWithPrefix"/>. <paramref name="vlans"/> entries
    /// (<c>VID</c> or <c>VID@ADDR/PREFIX</c>) become eth0.VID before <paramref name="script"/> (busybox sh) runs.
    /// </summary>
    public static QemuGuest Start(
        string name,
        IEnumerable<string> netdevArguments,
        string mac,
        string ipWithPrefix,
        string script,
        IReadOnlyList<string>? vlans = null,
        string? fd3Path = null)
    {
        var image = GuestImage.Ensure();
        var directory = Directory.CreateTempSubdirectory($"ubguest-{name}-").FullName;
        var scriptPath = Path.Combine(directory, "script.sh");
        File.WriteAllText(scriptPath, script.ReplaceLineEndings("\n"));

        var append = $"console=ttyS0 quiet panic=-1 ub.mac={mac} ub.ip={ipWithPrefix}";
        if (vlans is { Count: > 0 })
        {
            append += " ub.vlan=" + string.Join(',', vlans);
        }

        var start = StartInfo(image, name, scriptPath, append, netdevArguments, fd3Path);
        var clock = Stopwatch.StartNew();
        try
        {
            // The console's input stays an open pipe nobody writes: the guest's stdin never ends (see README).
            var process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {Program}");
            return new QemuGuest(name, mac, process, directory, clock);
        }
        catch
        {
            Directory.Delete(directory, recursive: true);
            throw;
        }
    }

    /// <summary>
    /// QEMU under TCG with the guest image and this guest's kernel line and script; a macvtap's <c>/dev/tapN</c> is handed
    /// to it as an open fd (<c>-netdev tap,fd=3</c>), as libvirt does.
    /// </summary>
    private static ProcessStartInfo StartInfo(GuestImage image, string name, string scriptPath, string append, IEnumerable<string> netdevArguments, string? fd3Path)
    {
        var start = new ProcessStartInfo(fd3Path is null ? Program : "/bin/sh")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (fd3Path is not null)
        {
            foreach (var argument in new[] { "-c", $"exec \"$0\" \"$@\" 3<>{fd3Path}", Program })
            {
                start.ArgumentList.Add(argument);
            }
        }

        string[] arguments =
        [
            "-name", name, "-accel", "tcg", "-m", $"{MemoryMiB}", "-nographic", "-no-reboot", "-nodefaults",
            "-serial", "stdio", "-kernel", image.KernelPath, "-initrd", image.InitrdPath, "-append", append,
            "-fw_cfg", $"name=opt/ub/script,file={scriptPath}",
            .. netdevArguments,
        ];
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        return start;
    }

    /// <summary>Waits until the console has a line starting with <paramref name="prefix"/> and returns it.</summary>
    public string WaitForLine(string prefix, TimeSpan deadline) =>
        WaitForLine(l => l.StartsWith(prefix, StringComparison.Ordinal), $"a line starting '{prefix}'", deadline);

    /// <summary>Waits until the console has a line that <paramref name="match"/> accepts and returns it.</summary>
    public string WaitForLine(Func<string, bool> match, string what, TimeSpan deadline)
    {
        var watch = Stopwatch.StartNew();
        while (true)
        {
            var line = _console.FirstOrDefault(match);
            if (line is not null)
            {
                return line;
            }

            Assert.False(_process.WaitForExit(50), $"guest {Name}: QEMU exited before printing {what}.\n{Describe()}");
            Assert.True(watch.Elapsed < deadline, $"guest {Name}: no {what} within {deadline}.\n{Describe()}");
        }
    }

    /// <summary>Waits for the <c>UB-RESULT rc=N</c> line and for QEMU to exit.</summary>
    public GuestResult WaitForResult(TimeSpan deadline)
    {
        int? exitCode;
        while ((exitCode = ExitCode()) is null)
        {
            if (_process.WaitForExit(50))
            {
                // Let the reader threads deliver the last lines.
                _process.WaitForExit();
                exitCode = ExitCode();
                Assert.True(exitCode is not null, $"guest {Name}: QEMU exited ({_process.ExitCode}) without a UB-RESULT line.\n{Describe()}");
                break;
            }

            Assert.True(_clock.Elapsed < deadline, $"guest {Name}: no UB-RESULT line within {deadline} of starting QEMU.\n{Describe()}");
        }

        Assert.True(_process.WaitForExit(PowerOffDeadline), $"guest {Name} printed its result but QEMU did not exit within {PowerOffDeadline}.\n{Describe()}");
        _process.WaitForExit();
        return new GuestResult(exitCode.Value, [.. _console]);
    }

    /// <summary>The console and QEMU's own messages, for assertion messages.</summary>
    public string Describe() =>
        $"console of {Name}:\n{string.Join('\n', _console)}\nqemu stderr:\n{string.Join('\n', _errors)}";

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (!_process.HasExited)
        {
            _ = LibC.kill(_process.Id, LibC.SIGTERM);
            if (!_process.WaitForExit(TimeSpan.FromSeconds(5)))
            {
                _process.Kill();
            }
        }

        _process.WaitForExit();
        _process.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    [GeneratedRegex(@"UB-RESULT rc=(\d+)")]
    private static partial Regex ResultLine();

    /// <summary>Terminal escapes (SeaBIOS clears the screen before the kernel starts).</summary>
    [GeneratedRegex(@"\x1b(\[[0-9;?]*[A-Za-z]|c)")]
    private static partial Regex TerminalEscape();

    private int? ExitCode()
    {
        foreach (var line in _console)
        {
            var match = ResultLine().Match(line);
            if (match.Success)
            {
                return int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
            }
        }

        return null;
    }

    private void OnConsoleLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        var text = TerminalEscape().Replace(line, string.Empty).TrimEnd('\r');
        if (text.Contains("UB-INIT", StringComparison.Ordinal))
        {
            _ = Interlocked.CompareExchange(ref _bootTicks, _clock.Elapsed.Ticks, -1);
        }

        _console.Enqueue(text);
    }
}
