using System.Diagnostics;
using System.Text.Json.Nodes;
using Tmds.Linux;
using UserBridge.Control.Management;
using UserBridge.Linux.Host;

namespace UserBridge.Integration.Tests;

/// <summary>
/// The pcap tap against the real readers: three namespaces behind the switch's TAPs, captures taken with the real
/// <c>userbridge capture</c>, read by Debian's tshark, tcpdump and capinfos, live through stdout, TCP@ and the extcap.
/// </summary>
public sealed class CaptureTests : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    private readonly SwitchLab _lab = new();

    public void Dispose() => _lab.Dispose();

    [Fact]
    public void ACaptureShowsEachPortItsDirectionsDecisionsAndSharedPacketIdsToTsharkTcpdumpAndCapinfos()
    {
        _lab.StartWithHosts(3, "tshark", "tcpdump", "capinfos");
        var file = Path.Combine(_lab.Directory, "ping.pcapng");
        using (var capture = SwitchProcess.Launch("capture", "--control", _lab.Control, "--filter", "icmp", "-c", "8", "-w", file))
        {
            WaitForCaptures(1);

            // h1 has never talked to h3: ARP goes first, and the filter keeps it out.
            Assert.Equal(0, _lab.Network.Ping(1, 3).ExitCode);
            Assert.Equal(0, capture.WaitForExit(Deadline));
            Assert.Contains("8 packets captured, 0 dropped by the capture", capture.Errors, StringComparison.Ordinal);
        }

        var capinfos = Shell.Check("capinfos", file);
        Assert.Contains("Number of interfaces in file: 3", capinfos, StringComparison.Ordinal);
        for (var host = 1; host <= 3; host++)
        {
            Assert.Contains($"Name = {_lab.Network.Tap(host)}", capinfos, StringComparison.Ordinal);
            Assert.Contains($"Description = tap {_lab.Network.Tap(host)}", capinfos, StringComparison.Ordinal);
        }

        var rows = Shell.Check("tshark", "-r", file, "-T", "fields", "-E", "separator=|", "-e", "frame.interface_name", "-e", "frame.packet_flags_direction", "-e", "frame.packet_id", "-e", "frame.comment", "-e", "frame.protocols")
            .Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split('|'))
            .ToList();
        Assert.Equal(8, rows.Count);
        Assert.All(rows, row => Assert.EndsWith(":icmp:data", row[4], StringComparison.Ordinal));
        foreach (var pair in rows.GroupBy(row => row[2]))
        {
            // One frame: its ingress copy on one port and its egress copy on the other, with one packet id.
            var copies = pair.ToList();
            Assert.Equal(2, copies.Count);
            Assert.Equal(["0x00000001", "0x00000002"], copies.Select(row => row[1]).Order(StringComparer.Ordinal));
            var egressPort = copies.Single(row => row[1] == "0x00000002")[0];
            Assert.All(copies, row => Assert.Equal($"forward: learned on {egressPort}", row[3]));
        }

        var requests = rows.Where(row => row[0] == _lab.Network.Tap(1) && row[1] == "0x00000001").ToList();
        Assert.Equal(2, requests.Count);
        Assert.Equal(8, Tcpdump.Read(file).Count);
    }

    [Fact]
    public async Task StdoutPipedIntoTsharkShowsFramesWhileTheCaptureRuns()
    {
        _lab.StartWithHosts(3, "tshark");
        using var capture = Start(SwitchProcess.ProgramPath, "capture", "--control", _lab.Control, "--filter", "icmp", "-w", "-");
        using var tshark = Start("tshark", "-l", "-r", "-", "-T", "fields", "-e", "frame.interface_name", "-e", "frame.comment");
        var pump = Task.Run(() => capture.StandardOutput.BaseStream.CopyTo(tshark.StandardInput.BaseStream, 256), TestContext.Current.CancellationToken);
        WaitForCaptures(1);

        var ping = Task.Run(() => _lab.Network.Ping(1, 2, count: 30), TestContext.Current.CancellationToken);
        var first = await tshark.StandardOutput.ReadLineAsync(TestContext.Current.CancellationToken).AsTask().WaitAsync(Deadline, TestContext.Current.CancellationToken);
        Assert.False(capture.HasExited, "the capture had already ended: the frames were not live");
        Assert.Equal($"{_lab.Network.Tap(1)}\tforward: learned on {_lab.Network.Tap(2)}", first);

        Assert.Equal(0, LibC.kill(capture.Id, LibC.SIGINT));
        Assert.True(capture.WaitForExit(Deadline), "the capture did not end on SIGINT");
        Assert.Equal(0, capture.ExitCode);
        await pump.WaitAsync(Deadline, TestContext.Current.CancellationToken);
        tshark.StandardInput.Close();
        Assert.True(tshark.WaitForExit(Deadline), "tshark did not finish");
        Assert.Equal(0, tshark.ExitCode);
        Assert.Equal(0, (await ping.WaitAsync(Deadline, TestContext.Current.CancellationToken)).ExitCode);
    }

    [Fact]
    public async Task AFifoCarriesTheCaptureLiveUntilItsDurationEndsIt()
    {
        _lab.StartWithHosts(3, "tshark", "mkfifo");
        var fifo = Path.Combine(_lab.Directory, "capture.fifo");
        Shell.Check("mkfifo", fifo);
        using var tshark = Start("tshark", "-l", "-r", fifo, "-T", "fields", "-e", "frame.interface_name", "-e", "frame.comment");
        using var capture = SwitchProcess.Launch("capture", "--control", _lab.Control, "--filter", "icmp", "--duration", "8", "-w", fifo);
        WaitForCaptures(1);

        var ping = Task.Run(() => _lab.Network.Ping(1, 2, count: 3), TestContext.Current.CancellationToken);
        var first = await tshark.StandardOutput.ReadLineAsync(TestContext.Current.CancellationToken).AsTask().WaitAsync(Deadline, TestContext.Current.CancellationToken);
        Assert.Equal($"{_lab.Network.Tap(1)}\tforward: learned on {_lab.Network.Tap(2)}", first);
        Assert.Equal(1, Cli.Json("capture", "list", "--control", _lab.Control, "-j").GetArrayLength());

        Assert.Equal(0, capture.WaitForExit(Deadline));
        Assert.Contains("12 packets captured, 0 dropped by the capture", capture.Errors, StringComparison.Ordinal);
        Assert.True(tshark.WaitForExit(Deadline), "tshark did not see the end of the FIFO");
        Assert.Equal(0, (await ping.WaitAsync(Deadline, TestContext.Current.CancellationToken)).ExitCode);
    }

    [Fact]
    public async Task TsharkReadsTheTcpListenerWithTcpAt()
    {
        _lab.StartWithHosts(3, "tshark");
        var port = Loopback.FreeTcpPort();
        using var listen = SwitchProcess.Launch("capture", "--control", _lab.Control, "--filter", "icmp", "--listen", $"127.0.0.1:{port}");
        WaitUntil(() => listen.Errors.Contains("serving the capture on", StringComparison.Ordinal), "the TCP listener did not start");

        using var tshark = Start("tshark", "-i", $"TCP@127.0.0.1:{port}", "-c", "4", "-T", "fields", "-e", "frame.interface_name", "-e", "frame.comment");
        var output = tshark.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        WaitForCaptures(1);
        Assert.Equal(0, _lab.Network.Ping(1, 2, count: 3).ExitCode);
        Assert.True(tshark.WaitForExit(Deadline), "tshark -i TCP@ did not get 4 packets");

        var lines = (await output).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(4, lines.Length);
        Assert.Contains($"{_lab.Network.Tap(1)}\tforward: learned on {_lab.Network.Tap(2)}", lines);
        Assert.Contains($"{_lab.Network.Tap(1)}\tforward: learned on {_lab.Network.Tap(1)}", lines);
        Assert.Equal(0, ExitCodeAfterSigint(listen));
    }

    [Fact]
    public async Task TheExtcapListsTheSwitchAndItsPortsToTsharkAndCapturesThroughIt()
    {
        _lab.StartWithHosts(3, "tshark");
        var name = _lab.Network.Prefix;
        var folder = Shell.Check("tshark", "-G", "folders").Split('\n').Single(line => line.StartsWith("Extcap path:", StringComparison.Ordinal))[12..].Trim();
        var launcher = Path.Combine(folder, "userbridge-extcap");
        var previous = File.Exists(launcher) ? File.ReadAllBytes(launcher) : null;
        try
        {
            Assert.Contains($"installed {launcher}", Cli.Run("extcap", "install"), StringComparison.Ordinal);
            var interfaces = Shell.Check("tshark", "-D");
            Assert.Contains($"userbridge:{name} (UserBridge {name}: all ports)", interfaces, StringComparison.Ordinal);
            for (var host = 1; host <= 3; host++)
            {
                Assert.Contains($"userbridge:{name}:{_lab.Network.Tap(host)} (UserBridge {name}: port {_lab.Network.Tap(host)})", interfaces, StringComparison.Ordinal);
            }

            using var tshark = Start("tshark", "-i", $"userbridge:{name}:{_lab.Network.Tap(2)}", "-f", "icmp", "-c", "2", "-T", "fields", "-e", "frame.interface_name", "-e", "frame.comment");
            var output = tshark.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
            WaitForCaptures(1);
            Assert.Equal(0, _lab.Network.Ping(1, 2, count: 2).ExitCode);
            Assert.True(tshark.WaitForExit(Deadline), "tshark did not capture 2 packets through the extcap");
            Assert.Equal(
                [$"{_lab.Network.Tap(2)}\tforward: learned on {_lab.Network.Tap(2)}", $"{_lab.Network.Tap(2)}\tforward: learned on {_lab.Network.Tap(1)}"],
                (await output).Split('\n', StringSplitOptions.RemoveEmptyEntries));
            WaitForCaptures(0);
        }
        finally
        {
            if (previous is null)
            {
                File.Delete(launcher);
            }
            else
            {
                File.WriteAllBytes(launcher, previous);
            }
        }
    }

    [Fact]
    public void ABadFilterIsRefusedWithLibpcapsMessage()
    {
        _lab.StartWithHosts(3);
        using var capture = SwitchProcess.Launch("capture", "--control", _lab.Control, "--filter", "icmp or nonsense-here", "-w", Path.Combine(_lab.Directory, "x.pcapng"));

        Assert.Equal(1, capture.WaitForExit(Deadline));
        Assert.Contains("userbridge capture: filter \"icmp or nonsense-here\":", capture.Errors, StringComparison.Ordinal);
        Assert.Equal(0, Cli.Json("capture", "list", "--control", _lab.Control, "-j").GetArrayLength());
    }

    [Fact]
    public void TheConfigsCaptureRotatesAndKeepsAtMostKeepFiles()
    {
        var file = Path.Combine(_lab.Directory, "always", "ub.pcapng");
        StartThreeHostsWithConfig("tshark", $"[capture]\nfile = \"{file}\"\nfilter = \"icmp\"\nrotate_bytes = 4096\nkeep_files = 2\n");
        Assert.Equal(0, _lab.Network.Ping(1, 2, count: 12).ExitCode);
        _lab.Switch!.Terminate(Deadline);

        var files = Directory.GetFiles(Path.GetDirectoryName(file)!);
        Assert.Equal(2, files.Length);
        foreach (var rotated in files)
        {
            var comments = Shell.Check("tshark", "-r", rotated, "-T", "fields", "-e", "frame.comment").Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.NotEmpty(comments);
            Assert.All(comments, comment => Assert.StartsWith("forward: learned on", comment, StringComparison.Ordinal));
        }
    }

    [Fact]
    public void AMirrorPortSeesCopiesOfItsSourceAndIsNeverLearnedOn()
    {
        StartThreeHostsWithConfig("tcpdump", $"[[mirror]]\nsource = [\"{_lab.Network.Tap(1)}\"]\noutput = \"{_lab.Network.Tap(3)}\"\n");
        Assert.Equal(0, _lab.Network.Ping(1, 2).ExitCode);
        var copies = Path.Combine(_lab.Directory, "mirror.pcap");
        using (Tcpdump.Start(_lab.Network.Namespace(3), _lab.Network.Tap(3), copies, "icmp"))
        {
            Assert.Equal(0, _lab.Network.Ping(1, 2, count: 3).ExitCode);
            Assert.NotEqual(0, _lab.Network.PingAddress(3, TestNetwork.Address(1), count: 1).ExitCode);
        }

        var lines = Tcpdump.Read(copies);
        Assert.Equal(3, lines.Count(line => line.Contains($"{TestNetwork.Address(1)} > {TestNetwork.Address(2)}: ICMP echo request", StringComparison.Ordinal)));
        Assert.Equal(3, lines.Count(line => line.Contains($"{TestNetwork.Address(2)} > {TestNetwork.Address(1)}: ICMP echo reply", StringComparison.Ordinal)));

        var mirror = Cli.Json("mirror", "show", "--control", _lab.Control, "-j")[0];
        Assert.Equal(_lab.Network.Tap(3), mirror.GetProperty("output").GetString());
        var fdb = Cli.Json("fdb", "show", "--control", _lab.Control, "-j");
        Assert.DoesNotContain(fdb.EnumerateArray(), row => row.GetProperty("port").GetString() == _lab.Network.Tap(3));
        var p3 = Cli.Json("port", "show", "--control", _lab.Control, "--port", _lab.Network.Tap(3), "-j")[0];
        Assert.True(p3.GetProperty("drops").GetProperty("mirror_output").GetInt64() > 0, $"frames from the mirror output were not counted: {p3}");
    }

    [Fact]
    public void AReaderThatStopsReadingNeverSlowsForwarding()
    {
        _lab.StartWithHosts(3);
        Assert.Equal(0, _lab.Network.Ping(1, 2).ExitCode);
        using var stalled = StreamConnection.Open(_lab.Control, ManagementVerbs.CaptureStreamVerb, new JsonObject());

        var ping = FastPing();
        Assert.True(ping.ExitCode == 0 && ping.Output.Contains(" 0% packet loss", StringComparison.Ordinal), $"forwarding lost frames while the capture stalled: {ping.Output}{ping.Error}");
        var capture = Cli.Json("capture", "list", "--control", _lab.Control, "-j")[0];
        Assert.True(capture.GetProperty("dropped").GetInt64() > 0, $"the capture reported no drops: {capture}");
        var p1 = Cli.Json("port", "show", "--control", _lab.Control, "--port", _lab.Network.Tap(1), "-j")[0];
        Assert.True(p1.GetProperty("capture_drops").GetInt64() > 0, $"port show has no capture drops: {p1}");
    }

    [Fact]
    public void AFullDiskNeverStopsForwardingAndLeavesAReadableFile()
    {
        _lab.StartWithHosts(3, "tshark", "mount", "umount");
        var disk = Path.Combine(_lab.Directory, "disk");
        Directory.CreateDirectory(disk);
        Shell.Check("mount", "-t", "tmpfs", "-o", "size=256k", $"{_lab.Network.Prefix}-disk", disk);
        try
        {
            var file = Path.Combine(disk, "full.pcapng");
            var started = Cli.Json("capture", "start", "--control", _lab.Control, "--file", file, "-j");
            Assert.Equal(0, _lab.Network.Ping(1, 2).ExitCode);

            var ping = FastPing();
            Assert.True(ping.ExitCode == 0 && ping.Output.Contains(" 0% packet loss", StringComparison.Ordinal), $"forwarding lost frames while the disk was full: {ping.Output}{ping.Error}");
            var stopped = Cli.Json("capture", "stop", "--control", _lab.Control, started.GetProperty("id").GetInt32().ToString(System.Globalization.CultureInfo.InvariantCulture), "-j");
            Assert.True(stopped.GetProperty("dropped").GetInt64() > 0, $"the full disk cost no packets: {stopped}");
            Assert.Contains("dropped by the capture", stopped.GetProperty("summary").GetString(), StringComparison.Ordinal);
            Assert.NotEmpty(Shell.Check("tshark", "-r", file, "-T", "fields", "-e", "frame.comment").Split('\n', StringSplitOptions.RemoveEmptyEntries));
        }
        finally
        {
            Shell.Run("umount", disk);
        }
    }

    private static Process Start(string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = program == "tshark" && arguments.Contains("-"),
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {program}");
        process.ErrorDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        return process;
    }

    private static void WaitUntil(Func<bool> condition, string failure)
    {
        var watch = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(watch.Elapsed < Deadline, failure);
            Thread.Sleep(50);
        }
    }

    private static int ExitCodeAfterSigint(SwitchProcess process)
    {
        Assert.Equal(0, LibC.kill(process.Pid, LibC.SIGINT));
        return process.WaitForExit(Deadline);
    }

    /// <summary>300 pings of 1200 bytes, 5 ms apart: about 1,200 copies, more than a stalled capture can hold.</summary>
    private ExternalCommand.Result FastPing() =>
        Shell.Run("ip", "netns", "exec", _lab.Network.Namespace(1), "ping", "-c", "300", "-i", "0.005", "-s", "1200", "-W", "2", "-q", TestNetwork.Address(2));

    private void WaitForCaptures(int count) =>
        WaitUntil(() => Cli.Json("capture", "list", "--control", _lab.Control, "-j").GetArrayLength() == count, $"capture list did not show {count} capture(s)");

    private void StartThreeHostsWithConfig(string tool, string tables)
    {
        Privileged.Require("ping", tool);
        var ports = string.Concat(Enumerable.Range(1, 3).Select(host => $"[[port]]\ninterface = \"{_lab.Network.Tap(host)}\"\n\n"));
        var config = _lab.WriteConfig(ports + tables);
        _lab.Start("--config", config);
        for (var host = 1; host <= 3; host++)
        {
            _lab.Network.AddHost(host);
        }
    }
}
