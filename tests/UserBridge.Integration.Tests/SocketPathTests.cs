using Microsoft.Extensions.Logging.Abstractions;
using UserBridge.Control.Runtime;
using UserBridge.Core.Switching;
using UserBridge.Linux.Interop;
using UserBridge.Tests.Shared;

namespace UserBridge.Integration.Tests;

/// <summary>
/// A socket path names a file the switch may replace only if it is a stale socket: a regular file there (a typo, or a
/// file someone wants gone) is refused and left alone, a socket another process listens on too, and at the end the
/// switch removes only the socket it bound, never what took its place. For the QEMU ports and the control socket.
/// </summary>
public sealed class SocketPathTests : IDisposable
{
    private const string Victim = "precious data\n";
    private readonly string _directory = Directory.CreateTempSubdirectory("ub-path-").FullName;
    private readonly Bridge _bridge = new(new BridgeOptions());
    private readonly RunningSwitch _ports;

    public SocketPathTests() => _ports = new RunningSwitch(_bridge, NullLogger.Instance, _ => { });

    public void Dispose()
    {
        _ports.Dispose();
        _bridge.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    [Theory]
    [InlineData("qemu-stream")]
    [InlineData("qemu-dgram")]
    public void AQemuPortRefusesAPathThatIsARegularFileAndLeavesItAlone(string type)
    {
        var path = VictimFile();

        var error = Assert.Throws<ArgumentException>(() => _ports.Add(TestPorts.Parse(("name", "x"), ("type", type), ("path", path))));

        Assert.Contains($"{path} exists and is a regular file, not a socket", error.Message, StringComparison.Ordinal);
        Assert.Equal(Victim, File.ReadAllText(path));
        Assert.Null(_bridge.Snapshot.Find("x"));
    }

    [Theory]
    [InlineData("qemu-stream", false)]
    [InlineData("qemu-dgram", true)]
    public void AQemuPortRefusesASocketAnotherProcessListensOnAndTakesAStaleOne(string type, bool datagram)
    {
        var path = Path.Combine(_directory, "vm.sock");

        // Bound with the raw calls, as another program (or a switch that crashed) would: closing leaves the file.
        var other = datagram ? UnixSocket.CreateDatagram(path) : UnixSocket.CreateStream(path);
        UnixSocket.Bind(other, path);
        if (!datagram)
        {
            UnixSocket.Listen(other, path);
        }

        var error = Assert.ThrowsAny<InvalidOperationException>(() => _ports.Add(TestPorts.Parse(("name", "vm"), ("type", type), ("path", path))));
        Assert.Contains("another process listens on this socket", error.Message, StringComparison.Ordinal);
        FileDescriptor.CloseQuietly(other);

        // The other process is gone and its socket file stayed: stale, so the port takes the path.
        Assert.True(File.Exists(path));
        _ports.Add(TestPorts.Parse(("name", "vm"), ("type", type), ("path", path)));
        _ports.Remove("vm");
        Assert.False(File.Exists(path), "the port's own socket outlived it");
    }

    [Theory]
    [InlineData("qemu-stream")]
    [InlineData("qemu-dgram")]
    public void RemovingAPortLeavesAFileThatTookItsSocketsPlace(string type)
    {
        var path = Path.Combine(_directory, "vm.sock");
        _ports.Add(TestPorts.Parse(("name", "vm"), ("type", type), ("path", path)));
        File.Delete(path);
        File.WriteAllText(path, Victim);

        _ports.Remove("vm");

        Assert.Equal(Victim, File.ReadAllText(path));
    }

    [Fact]
    public void RunRefusesAControlPathThatIsARegularFileAndLeavesItAlone()
    {
        var path = VictimFile();
        using var run = SwitchProcess.Launch("run", "--stats", "0", "--name", "ubpath", "--control", path, "--config", WriteEmptyConfig());

        Assert.NotEqual(0, run.WaitForExit(TimeSpan.FromSeconds(20)));
        Assert.Contains($"{path} exists and is a regular file, not a socket", run.Errors, StringComparison.Ordinal);
        Assert.Equal(Victim, File.ReadAllText(path));
    }

    private string VictimFile()
    {
        var path = Path.Combine(_directory, "victim.txt");
        File.WriteAllText(path, Victim);
        return path;
    }

    private string WriteEmptyConfig()
    {
        var path = Path.Combine(_directory, "empty.toml");
        File.WriteAllText(path, "# no ports: they would be added at runtime\n");
        return path;
    }
}
