using UserBridge.Control.Runtime;


namespace UserBridge.Integration.Tests;

/// <summary>
/// <c>user</c>, <c>group</c> and <c>runtime_changes</c> against the real process: after its ports are open the switch
/// runs as nobody, only its broker thread holds CAP_NET_ADMIN and CAP_NET_RAW (none with runtime changes off), the
/// management socket belongs to the user and group, and clients are checked by their credentials (SO_PEERCRED).
/// </summary>
public sealed class PrivilegeTests : IDisposable
{
    private const string User = "nobody";
    private const string Group = "nogroup";
    private const int NobodyUid = 65534;
    private const int NogroupGid = 65534;
    private const int DaemonUid = 1;
    private const long NetCapabilities = (1L << 12) | (1L << 13);
    private const long DacOverride = 1L << 1;

    private readonly SwitchLab _lab = new();

    public void Dispose() => _lab.Dispose();

    [Fact]
    public void TheSwitchRunsAsItsUserWithCapabilitiesOnlyOnItsBrokerAndStillAddsATapAtRuntime()
    {
        Privileged.Require(["ping", "setpriv", "socat"]);
        var process = _lab.Start("--config", _lab.WriteConfig($"user = \"{User}\"\ngroup = \"{Group}\"\n" + _lab.TapPort(1) + _lab.TapPort(2)));
        _lab.Network.AddHost(1);
        _lab.Network.AddHost(2);
        Assert.Equal(0, _lab.Network.Ping(1, 2).ExitCode);

        var threads = Threads(process.Pid);
        Assert.All(threads, thread => Assert.Equal(NobodyUid, thread.Uid));
        // CAP_DAC_OVERRIDE too where /dev/net/tun is not open to nobody (mode 0600 on these machines).
        var tunOpenToAll = (File.GetUnixFileMode("/dev/net/tun") & (UnixFileMode.OtherRead | UnixFileMode.OtherWrite)) == (UnixFileMode.OtherRead | UnixFileMode.OtherWrite);
        Assert.Equal(NetCapabilities | (tunOpenToAll ? 0 : DacOverride), Assert.Single(threads, thread => thread.Name == "ub-privileged").Capabilities);
        Assert.All(threads.Where(thread => thread.Name != "ub-privileged"), thread => Assert.True(thread.Capabilities == 0, $"thread {thread.Name} kept capabilities {thread.Capabilities:x}"));

        var socket = new FileInfo(_lab.Control);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite, socket.UnixFileMode);
        Assert.Equal($"{User}:{Group}", Shell.Check("stat", "-c", "%U:%G", _lab.Control).Trim());

        // Root adds a TAP at runtime: the broker thread creates it.
        Cli.Run("port", "add", "p3", "--interface", _lab.Network.Tap(3), "--control", _lab.Control);
        _lab.Network.AddHost(3);
        Assert.Equal(0, _lab.Network.Ping(1, 3).ExitCode);

        // Opened to everyone by the file mode, the socket still answers only root, nobody and nogroup's members.
        File.SetUnixFileMode(_lab.Control, socket.UnixFileMode | UnixFileMode.OtherRead | UnixFileMode.OtherWrite);
        File.SetUnixFileMode(_lab.Directory, File.GetUnixFileMode(_lab.Directory) | UnixFileMode.OtherExecute);
        Assert.Contains($"permission denied: uid {DaemonUid} is not root, the switch user or a member of its group", Request(DaemonUid, DaemonUid), StringComparison.Ordinal);
        Assert.Contains("\"ok\":true", Request(DaemonUid, NogroupGid), StringComparison.Ordinal);
        Assert.Contains("\"ok\":true", Request(NobodyUid, NobodyUid), StringComparison.Ordinal);
    }

    [Fact]
    public void WithRuntimeChangesOffNoThreadKeepsACapabilityAndPortAddIsRefused()
    {
        Privileged.Require(["ping"]);
        var process = _lab.Start("--config", _lab.WriteConfig($"user = \"{User}\"\nruntime_changes = false\n" + _lab.TapPort(1) + _lab.TapPort(2)));
        _lab.Network.AddHost(1);
        _lab.Network.AddHost(2);
        Assert.Equal(0, _lab.Network.Ping(1, 2).ExitCode);

        var threads = Threads(process.Pid);
        Assert.DoesNotContain(threads, thread => thread.Name == "ub-privileged");
        Assert.All(threads, thread => Assert.True(thread.Capabilities == 0, $"thread {thread.Name} kept capabilities {thread.Capabilities:x}"));

        using (var refused = SwitchProcess.Launch(["port", "add", "p3", "--interface", _lab.Network.Tap(3), "--control", _lab.Control]))
        {
            Assert.NotEqual(0, refused.WaitForExit(TimeSpan.FromSeconds(20)));
            Assert.Contains("runtime_changes = false", refused.Errors + refused.Output, StringComparison.Ordinal);
        }

        Assert.Equal(0, _lab.Network.Ping(1, 2).ExitCode);
    }

    /// <summary>
    /// A switch that became nobody, with no capability left, still stops cleanly on SIGTERM: exit 0, its TAP gone, and its
    /// files gone too, though nobody may not delete them from root's directories: the control socket, a QEMU socket and
    /// the registry entry (the janitor it started as root removes them once it has exited).
    /// </summary>
    [Fact]
    public void ASigtermStopsASwitchThatDroppedItsPrivilegesCleanlyAndItsFilesGo()
    {
        Privileged.Require();
        var vmSocket = Path.Combine(_lab.Directory, "vm.sock");
        var process = _lab.Start("--config", _lab.WriteConfig(
            $"user = \"{User}\"\nruntime_changes = false\n" + _lab.TapPort(1) + $"[[port]]\nname = \"vm\"\ntype = \"qemu-stream\"\npath = \"{vmSocket}\"\n"));
        var registryEntry = Path.Combine(SwitchRegistry.Directory, _lab.Network.Prefix);
        Assert.True(File.Exists(registryEntry), $"no registry entry {registryEntry}");
        Assert.True(TestNetwork.InterfaceExists(_lab.Network.Tap(1)), "the switch's TAP is not there");

        var (exitCode, _) = process.Terminate(TimeSpan.FromSeconds(20));

        Assert.True(exitCode == 0, $"exit {exitCode}\nstdout:\n{process.Output}\nstderr:\n{process.Errors}");
        Assert.Contains($"switch {_lab.Network.Prefix} stopped", process.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", process.Errors, StringComparison.Ordinal);
        Assert.False(TestNetwork.InterfaceExists(_lab.Network.Tap(1)), "the switch's TAP outlived it");
        Waiting.Until(
            () => !File.Exists(_lab.Control) && !File.Exists(vmSocket) && !File.Exists(registryEntry),
            $"the control socket ({File.Exists(_lab.Control)}), the QEMU socket ({File.Exists(vmSocket)}) and the registry entry ({File.Exists(registryEntry)}) to be removed",
            TimeSpan.FromSeconds(10));
    }

    /// <summary>Sends a <c>version</c> request as <paramref name="uid"/>:<paramref name="gid"/> and returns the reply.</summary>
    private string Request(int uid, int gid)
    {
        var result = Shell.Run("sh", "-c", $"echo '{{\"verb\":\"version\"}}' | setpriv --reuid={uid} --regid={gid} --clear-groups socat -t 2 - UNIX-CONNECT:{_lab.Control}");
        return result.Output + result.Error;
    }

    /// <summary>Each thread's name, real uid and effective capabilities.</summary>
    private static List<(string Name, int Uid, long Capabilities)> Threads(int pid) =>
        [.. Directory.GetDirectories($"/proc/{pid}/task").Select(task =>
        {
            var status = File.ReadAllLines(Path.Combine(task, "status"));
            string Field(string name) => status.First(line => line.StartsWith(name, StringComparison.Ordinal))[name.Length..].Trim();
            return (File.ReadAllText(Path.Combine(task, "comm")).Trim(), int.Parse(Field("Uid:").Split('\t')[0], System.Globalization.CultureInfo.InvariantCulture), Convert.ToInt64(Field("CapEff:"), 16));
        })];
}
