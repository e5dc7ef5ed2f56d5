using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging.Abstractions;
using UserBridge.Control.Config;
using UserBridge.Control.Management;
using UserBridge.Control.Runtime;
using UserBridge.Core.Switching;
using UserBridge.Tests.Shared;

namespace UserBridge.Control.Tests;

/// <summary>
/// The management keys of the config (<c>max_clients</c>, <c>max_clients_per_user</c>, <c>runtime_ports</c>) and the
/// allow-list that <c>port add</c> applies to a client other than root.
/// </summary>
public sealed class RuntimePortsTests : IDisposable
{
    private const string File = "switch.toml";

    private readonly string _directory = Directory.CreateTempSubdirectory("ub-runtime-ports-").FullName;
    private readonly Bridge _bridge = new(new BridgeOptions());
    private readonly RunningSwitch _ports;

    public RuntimePortsTests() => _ports = new RunningSwitch(_bridge, NullLogger.Instance, _ => { });

    public void Dispose()
    {
        _ports.Dispose();
        _bridge.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public void ReadsTheClientLimitsAndTheAllowListWithNothingAllowedByDefault()
    {
        var config = ConfigLoader.Parse("max_clients = 32\nmax_clients_per_user = 4\nruntime_ports = { interfaces = [\"vm-*\", \"lab?\"], paths = [\"/run/userbridge/vms/*\"] }", File);
        var defaults = ConfigLoader.Parse(string.Empty, File);

        Assert.Equal((32, 4), (config.MaxClients, config.MaxClientsPerUser));
        Assert.Equal(["vm-*", "lab?"], config.RuntimePorts.Interfaces);
        Assert.Equal(["/run/userbridge/vms/*"], config.RuntimePorts.Paths);
        Assert.Equal((ManagementOptions.DefaultMaxClients, ManagementOptions.DefaultMaxClientsPerUser), (defaults.MaxClients, defaults.MaxClientsPerUser));
        Assert.Empty(defaults.RuntimePorts.Interfaces);
        Assert.Empty(defaults.RuntimePorts.Paths);
    }

    [Theory]
    [InlineData("max_clients = 0", "switch.toml:1: max_clients must be an integer from 1 to 65536")]
    [InlineData("\nmax_clients = 65537", "switch.toml:2: max_clients must be an integer from 1 to 65536")]
    [InlineData("max_clients_per_user = -1", "switch.toml:1: max_clients_per_user must be an integer from 1 to 65536")]
    [InlineData("max_clients_per_user = \"many\"", "switch.toml:1: max_clients_per_user must be an integer from 1 to 65536")]
    [InlineData("runtime_ports = \"vm-*\"", "switch.toml:1: runtime_ports must be an inline table: runtime_ports = { interfaces = [\"vm-*\"], paths = [\"/run/userbridge/vms/*\"] }")]
    [InlineData("runtime_ports = { names = [\"vm-*\"] }", "switch.toml:1: unknown key 'names' in runtime_ports; allowed: interfaces, paths")]
    [InlineData("runtime_ports = { interfaces = \"vm-*\" }", "switch.toml:1: runtime_ports.interfaces must be an array of strings in double quotes")]
    [InlineData("runtime_ports = { interfaces = [\"vm/*\"] }", "switch.toml:1: runtime_ports.interfaces: \"vm/*\" is not an interface name pattern")]
    [InlineData("runtime_ports = { paths = [\"vms/*\"] }", "switch.toml:1: runtime_ports.paths: \"vms/*\" is not an absolute path pattern")]
    [InlineData("runtime_ports = { paths = [\"/run/../etc/*\"] }", "switch.toml:1: runtime_ports.paths: \"/run/../etc/*\" is not an absolute path pattern")]
    public void RejectsABadValueNamingTheLineAndTheRange(string toml, string expected)
    {
        var error = Assert.Throws<ConfigException>(() => ConfigLoader.Parse(toml, File));

        Assert.Contains(error.Errors, message => message.StartsWith(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void AChangeOfTheLimitsOrTheAllowListTakesARestart()
    {
        var applier = new ConfigApplier(_ports, _ => { });
        var config = new SwitchConfig { Name = "limits" };
        applier.Apply(config);

        var refused = Assert.Throws<ManagementException>(() => applier.Apply(config with { MaxClients = 8, MaxClientsPerUser = 2, RuntimePorts = new RuntimePorts(["vm-*"], []) }));

        Assert.Equal("runtime_ports, max_clients, max_clients_per_user changed: only a restart applies them; nothing was applied (undo the change to reload the rest)", refused.Message);
    }

    [Theory]
    [InlineData("tap", "vm-1", null)]
    [InlineData("packet", "vm-web", null)]
    [InlineData("packet", "ANY", "interface 'ANY' matches no pattern of runtime_ports.interfaces (vm-*)")]
    [InlineData("tap", "eth0", "interface 'eth0' matches no pattern of runtime_ports.interfaces (vm-*)")]
    public void InterfacesOfTapAndPacketPortsMustMatchAPattern(string type, string interfaceName, string? refusal)
    {
        var allowed = new RuntimePorts(["vm-*"], []);

        Assert.Equal(refusal, allowed.Refusal(TestPorts.Parse(("name", "x"), ("type", type), ("interface", interfaceName))));
    }

    [Fact]
    public void SocketPathsMustMatchInPlainFormWithoutLinksAndCannotReachBelowTheirDirectory()
    {
        var vms = Directory.CreateDirectory(Path.Combine(_directory, "vms")).FullName;
        Directory.CreateDirectory(Path.Combine(vms, "deeper"));
        System.IO.File.CreateSymbolicLink(Path.Combine(vms, "link.sock"), "/etc/hostname");
        var allowed = new RuntimePorts([], [$"{vms}/*.sock"]);

        Assert.Null(allowed.Refusal(Stream($"{vms}/a.sock")));
        Assert.Null(allowed.Refusal(Dgram($"{vms}/a.sock", $"{vms}/vm.sock")));
        Assert.Equal($"path '{vms}/deeper/a.sock' matches no pattern of runtime_ports.paths ({vms}/*.sock)", allowed.Refusal(Stream($"{vms}/deeper/a.sock")));
        Assert.Equal($"path '/dev/log' matches no pattern of runtime_ports.paths ({vms}/*.sock)", allowed.Refusal(Dgram($"{vms}/a.sock", "/dev/log")));
        Assert.Equal($"path '{vms}/deeper/../a.sock' is not in plain absolute form (no '.', '..' or '//' components)", allowed.Refusal(Stream($"{vms}/deeper/../a.sock")));
        Assert.Equal($"path '{vms}/link.sock' goes through the symbolic link '{vms}/link.sock'", allowed.Refusal(Stream($"{vms}/link.sock")));
    }

    [Theory]
    [InlineData("vxlan")]
    [InlineData("geneve")]
    public void OverlayPortsAreRootsOnly(string type)
    {
        var everything = new RuntimePorts(["*"], ["/*"]);

        Assert.Equal($"{type} ports are added by root only", everything.Refusal(TestPorts.Parse(("type", type), ("vni", 1L), ("remotes", "198.18.0.2"))));
    }

    [Fact]
    public void PortAddRefusesARestrictedCallerAPortOutsideThePatternsAndAddsOneInside()
    {
        var caller = new ManagementCaller(65534, new RuntimePorts([], [$"{_directory}/vm-*.sock"]));

        var refused = ManagementProtocol.Handle(_ports, PortAdd("sniff", new JsonObject { ["type"] = "packet", ["interface"] = "lo" }), caller);
        var added = ManagementProtocol.Handle(_ports, PortAdd("vm1", new JsonObject { ["type"] = "qemu-dgram", ["path"] = $"{_directory}/vm-1.sock" }), caller);
        var asRoot = ManagementProtocol.Handle(_ports, PortAdd("vm2", new JsonObject { ["type"] = "qemu-dgram", ["path"] = $"{_directory}/other.sock" }));

        Assert.Equal(
            "{\"ok\":false,\"error\":\"permission denied: uid 65534 may add only the ports runtime_ports allows, and interface \\u0027lo\\u0027 matches no pattern of runtime_ports.interfaces (none are configured)\"}",
            refused);
        Assert.StartsWith("{\"ok\":true", added, StringComparison.Ordinal);
        Assert.StartsWith("{\"ok\":true", asRoot, StringComparison.Ordinal);
        Assert.Equal(["vm1", "vm2"], _bridge.Snapshot.Ports.Where(slot => slot is not null).Select(slot => slot!.Name));
    }

    private static PortConfig Stream(string path) => TestPorts.Parse(("name", "x"), ("type", "qemu-stream"), ("path", path));

    private static PortConfig Dgram(string path, string remote) => TestPorts.Parse(("name", "x"), ("type", "qemu-dgram"), ("path", path), ("remote", remote));

    private static string PortAdd(string name, JsonObject args)
    {
        args["name"] = name;
        return ManagementProtocol.Request("port add", args);
    }
}
