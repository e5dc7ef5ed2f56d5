using Microsoft.Extensions.Logging.Abstractions;
using UserBridge.Control.Config;
using UserBridge.Control.Management;
using UserBridge.Control.Runtime;
using UserBridge.Core.Frames;
using UserBridge.Core.Learning;
using UserBridge.Core.Ports;
using UserBridge.Core.Switching;
using UserBridge.Linux.Files;
using UserBridge.Linux.Ports.QemuDgram;
using UserBridge.Linux.Ports.QemuStream;

namespace UserBridge.Control.Tests;

/// <summary>
/// Start and reload as one step from one config to the next, over QEMU datagram ports (unix sockets: no privileges).
/// </summary>
public sealed class ConfigApplierTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("ub-apply-").FullName;
    private readonly Bridge _bridge = new(new BridgeOptions());
    private readonly RunningSwitch _ports;
    private readonly List<string> _announced = [];
    private readonly ConfigApplier _applier;

    public ConfigApplierTests()
    {
        _ports = new RunningSwitch(_bridge, NullLogger.Instance, _announced.Add);
        _applier = new ConfigApplier(_ports, _announced.Add);
    }

    public void Dispose()
    {
        _ports.Dispose();
        _bridge.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public void AReloadAppliesOnlyTheDifferenceAndLeavesUnchangedPortsAlone()
    {
        _applier.Apply(Config(Dgram("keep"), Dgram("gone"), Dgram("retag"), Dgram("reopen")));
        var kept = _bridge.Snapshot.Find("keep")!;
        var retagged = _bridge.Snapshot.Find("retag")!.Port;
        var reopened = _bridge.Snapshot.Find("reopen")!.Port;
        _bridge.MacTable.Learn(MacTable.Key(MacAddress.Parse("02:00:00:00:00:01"), 0), kept.Index, _bridge.MacTable.NowMs);

        var changes = _applier.Apply(Config(
            Dgram("keep") with { Line = 40 },
            Dgram("retag") with { Vlan = PortVlan.Access(20) },
            Dgram("reopen", UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite),
            Dgram("new")));

        Assert.Equal(["port gone removed", "port reopen removed to be re-opened", "port retag: VLAN settings changed", "port reopen added: qemu-dgram " + SocketPath("reopen"), "port new added: qemu-dgram " + SocketPath("new")], changes);
        Assert.Same(kept, _bridge.Snapshot.Find("keep"));
        Assert.Same(retagged, _bridge.Snapshot.Find("retag")!.Port);
        Assert.Equal(20, _bridge.Snapshot.Find("retag")!.Vlan.Vlan);
        Assert.NotSame(reopened, _bridge.Snapshot.Find("reopen")!.Port);
        Assert.Null(_bridge.Snapshot.Find("gone"));
        Assert.NotNull(_bridge.Snapshot.Find("new"));
        Assert.Equal(0, _bridge.MacTable.Lookup(MacAddress.Parse("02:00:00:00:00:01"), 0));
        Assert.Empty(_applier.Apply(_applier.Current));
    }

    [Fact]
    public void AGuardChangeIsAppliedInPlaceOnAnyPort()
    {
        // Connecting to a QEMU that is not there yet: a supervisor holds the port, detached and down, and re-attaches it later.
        var stream = new PortConfig("vm", QemuStreamPortType.Instance, new QemuStreamSettings(SocketPath("vm")) { Role = QemuStreamSettings.RoleConnect });
        _applier.Apply(Config(Dgram("edge"), stream));
        var (edge, vm) = (_bridge.Snapshot.Find("edge")!.Port, _bridge.Snapshot.Find("vm")!.Port);
        var guarded = new PortGuard { BpduGuard = true };

        var changes = _applier.Apply(Config(Dgram("edge") with { Guard = guarded }, stream with { Guard = guarded }));

        Assert.Equal(["port edge: guards changed", "port vm: guards changed"], changes);
        Assert.Same(edge, _bridge.Snapshot.Find("edge")!.Port);
        Assert.Same(vm, _bridge.Snapshot.Find("vm")!.Port);
        Assert.True(_bridge.Snapshot.Find("edge")!.Guard.BpduGuard);
        Assert.True(_bridge.Snapshot.Find("vm")!.Guard.BpduGuard);
    }

    [Fact]
    public void AQemuStreamPortWhoseVlanChangedIsReopenedAndOneThatDidNotIsLeftAlone()
    {
        var stream = new PortConfig("vm", QemuStreamPortType.Instance, new QemuStreamSettings(SocketPath("vm"))) { Vlan = PortVlan.Access(10) };
        _applier.Apply(Config(stream));

        Assert.Empty(_applier.Apply(Config(stream with { Vlan = PortVlan.Access(10), Line = 3 })));
        Assert.Equal(["port vm removed to be re-opened", "port vm added: qemu-stream " + SocketPath("vm")], _applier.Apply(Config(stream with { Vlan = PortVlan.Access(20) })));
    }

    [Fact]
    public void MirrorsAndTheCaptureFollowTheConfig()
    {
        var capture = new CaptureConfig(Path.Combine(_directory, "all.pcapng"));
        _applier.Apply(Config(Dgram("a"), Dgram("b"), Dgram("c")) with { Mirrors = [new MirrorConfig(new HashSet<string> { "a" }, "c")], Capture = capture });
        Assert.Single(_ports.Captures.Mirrors());
        Assert.Single(_ports.Captures.List());

        var changes = _applier.Apply(Config(Dgram("a"), Dgram("b"), Dgram("c")) with { Mirrors = [new MirrorConfig(new HashSet<string> { "b" }, "c")], Capture = capture with { Line = 9 } });

        Assert.Equal(["mirror to c removed", "mirror b (both) -> c"], changes);
        Assert.Equal(["b"], _ports.Captures.Mirrors().Single().Sources);
        Assert.Single(_ports.Captures.List());
        Assert.Equal(["capture 1 stopped"], _applier.Apply(Config(Dgram("a"), Dgram("b"), Dgram("c")) with { Mirrors = [new MirrorConfig(new HashSet<string> { "b" }, "c")] }));
    }

    [Fact]
    public void AChangeOnlyARestartAppliesIsRefusedBeforeAnythingIsTouched()
    {
        _applier.Apply(Config(Dgram("a")));
        var before = _bridge.Snapshot;

        var refused = Assert.Throws<ManagementException>(() => _applier.Apply(Config(Dgram("a"), Dgram("b")) with { Pollers = 2, MacTableSize = 1024 }));

        Assert.Equal("mac_table_size, pollers changed: only a restart applies them; nothing was applied (undo the change to reload the rest)", refused.Message);
        Assert.Same(before, _bridge.Snapshot);
        Assert.Single(_applier.Current.Ports);
    }

    [Fact]
    public void AReloadWhoseNewPortCannotOpenOpensNothingAndALaterGoodReloadSucceeds()
    {
        var before = Config(Dgram("a"));
        _applier.Apply(before);
        var missing = Path.Combine(_directory, "missing", "p5.sock");

        var refused = Record.Exception(() => _applier.Apply(Config(Dgram("a"), Dgram("p4"), Stream("p5", missing))));

        Assert.NotNull(refused);
        Assert.Contains("missing", refused.Message, StringComparison.Ordinal);
        Assert.Equal(before, _applier.Current);
        Assert.Equal(["a"], BridgePorts());
        Assert.False(File.Exists(SocketPath("p4")), "the new port's socket is still bound");

        _applier.Apply(Config(Dgram("a"), Dgram("p4"), Stream("p5", SocketPath("p5"))));
        Assert.Equal(["a", "p4"], BridgePorts());
        Assert.Equal(["a", "p4", "p5"], _applier.Current.Ports.Select(port => port.Name));

        Assert.Equal(["port p4 removed"], _applier.Apply(Config(Dgram("a"), Stream("p5", SocketPath("p5")))));
        Assert.Equal(["a"], BridgePorts());
        Assert.False(File.Exists(SocketPath("p4")));
    }

    [Fact]
    public void AChangedPortWhoseReopenFailsIsReopenedAsItWasAndSoAreThePortsChangedBeforeIt()
    {
        var shared = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite;
        var before = Config(Dgram("a"), Dgram("b"), Dgram("c"));
        _applier.Apply(before);
        var (a, b) = (_bridge.Snapshot.Find("a")!.Port, _bridge.Snapshot.Find("b")!.Port);

        var refused = Record.Exception(() => _applier.Apply(Config(Dgram("a"), Dgram("b", shared), Dgram("c") with { Settings = new QemuDgramSettings(Path.Combine(_directory, "missing", "c.sock")) })));

        Assert.NotNull(refused);
        Assert.Equal(before, _applier.Current);
        Assert.Equal(["a", "b", "c"], BridgePorts());
        Assert.Same(a, _bridge.Snapshot.Find("a")!.Port);
        Assert.NotSame(b, _bridge.Snapshot.Find("b")!.Port);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(SocketPath("b")));
        Assert.Equal(SocketPath("c"), _bridge.Snapshot.Find("c")!.Port.Interface);
        Assert.True(File.Exists(SocketPath("c")), "the changed port was not re-opened as it was");
    }

    [Fact]
    public void ACaptureThatCannotStartUndoesThePortsAndMirrorsOfItsReload()
    {
        var before = Config(Dgram("a"), Dgram("b")) with { Mirrors = [new MirrorConfig(new HashSet<string> { "a" }, "b")] };
        _applier.Apply(before);

        var refused = Record.Exception(() => _applier.Apply(Config(Dgram("a"), Dgram("b"), Dgram("n")) with
        {
            Mirrors = [new MirrorConfig(new HashSet<string> { "a", "b" }, "n")],
            Capture = new CaptureConfig("/dev/null/ub.pcapng"),
        }));

        Assert.NotNull(refused);
        Assert.Contains("/dev/null/ub.pcapng", refused.Message, StringComparison.Ordinal);
        Assert.Equal(before, _applier.Current);
        Assert.Equal(["a", "b"], BridgePorts());
        Assert.Equal("b", Assert.Single(_ports.Captures.Mirrors()).Output);
        Assert.Empty(_ports.Captures.List());
    }

    [Fact]
    public void AMirrorOrCaptureOfAStreamListenerIsRefusedBeforeAnythingOpens()
    {
        _applier.Apply(Config(Dgram("a")));
        var next = Config(Dgram("a"), Dgram("p4"), Stream("vm", SocketPath("vm")));

        var mirror = Assert.Throws<ConfigException>(() => _applier.Apply(next with { Mirrors = [new MirrorConfig(new HashSet<string> { "a" }, "vm")] }));
        var capture = Assert.Throws<ConfigException>(() => _applier.Apply(next with { Capture = new CaptureConfig(Path.Combine(_directory, "c.pcapng")) { Ports = new HashSet<string> { "vm" } } }));

        Assert.Contains("[[mirror]] names port 'vm', a qemu-stream listener", mirror.Message, StringComparison.Ordinal);
        Assert.Contains("[capture] names port 'vm', a qemu-stream listener", capture.Message, StringComparison.Ordinal);
        Assert.Equal(["a"], BridgePorts());
        Assert.False(File.Exists(SocketPath("p4")));
        Assert.Single(_applier.Current.Ports);
    }

    [Fact]
    public void WhenUndoingFailsTooTheRecordedConfigIsWhatRuns()
    {
        var gone = Directory.CreateDirectory(Path.Combine(_directory, "gone")).FullName;
        var b = new PortConfig("b", QemuDgramPortType.Instance, new QemuDgramSettings(Path.Combine(gone, "b.sock")));
        _applier.Apply(Config(Dgram("a"), b));

        // The running port keeps its bound socket; re-opening it (the reload's change, then the undo) cannot bind again.
        Directory.Delete(gone, recursive: true);
        var refused = Record.Exception(() => _applier.Apply(Config(Dgram("a"), b with { Settings = (QemuDgramSettings)b.Settings with { Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead } })));

        Assert.NotNull(refused);
        Assert.Contains("port b", refused.Message, StringComparison.Ordinal);
        Assert.Equal(["a"], BridgePorts());
        Assert.Equal(["a"], _applier.Current.Ports.Select(port => port.Name));
        Assert.Equal(["port b added: qemu-dgram " + SocketPath("b")], _applier.Apply(Config(Dgram("a"), Dgram("b"))));
    }

    private static SwitchConfig Config(params PortConfig[] ports) => new() { Name = "applied", Ports = ports };

    private static PortConfig Stream(string name, string path) => new(name, QemuStreamPortType.Instance, new QemuStreamSettings(path));

    private List<string> BridgePorts() => [.. _bridge.Snapshot.Ports.OfType<PortSlot>().Select(slot => slot.Name).Order(StringComparer.Ordinal)];

    private PortConfig Dgram(string name, UnixFileMode mode = SocketFile.DefaultMode) => new(name, QemuDgramPortType.Instance, new QemuDgramSettings(SocketPath(name)) { Mode = mode });

    private string SocketPath(string name) => Path.Combine(_directory, $"{name}.sock");
}
