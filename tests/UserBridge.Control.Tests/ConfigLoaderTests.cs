using UserBridge.Control.Config;
using UserBridge.Core.Forwarding;
using UserBridge.Core.Ports;
using UserBridge.Linux.Ports.QemuDgram;
using UserBridge.Linux.Ports.QemuStream;
using UserBridge.Linux.Ports.Tap;
using UserBridge.Linux.Ports.VhostUser;


namespace UserBridge.Control.Tests;

public sealed class ConfigLoaderTests
{
    private const string File = "switch.toml";

    [Fact]
    public void ReadsAFullConfigWithDefaultsForOmittedPortFields()
    {
        var config = ConfigLoader.Parse(
            """
            name = "lab0"
            aging = "5m"
            mac_table_size = 1024
            control = "/tmp/lab0.sock"

            [[port]]
            name = "p1"
            type = "tap"
            interface = "ub-p1"

            [[port]]
            interface = "ub-p2"
            """,
            File);

        Assert.Equal("lab0", config.Name);
        Assert.Equal(TimeSpan.FromMinutes(5), config.Aging);
        Assert.Equal(1024, config.MacTableSize);
        Assert.Equal("/tmp/lab0.sock", config.ControlPath);
        Assert.Equal(2, config.Ports.Count);
        Assert.Equal(new PortConfig("p1", TapPortType.Instance, new TapSettings("ub-p1"), 6), config.Ports[0]);
        Assert.Equal(new PortConfig("ub-p2", TapPortType.Instance, new TapSettings("ub-p2"), 11), config.Ports[1]);
    }

    [Fact]
    public void ReadsTheWorkersCpus()
    {
        Assert.Equal([0], ConfigLoader.Parse("cpus = \"0\"", File).Cpus);
        Assert.Null(ConfigLoader.Parse(string.Empty, File).Cpus);
    }

    [Fact]
    public void ReadsTheMetricsEndpoint()
    {
        Assert.Equal(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 9464), ConfigLoader.Parse("metrics = \"127.0.0.1:9464\"", File).Metrics);
        Assert.Null(ConfigLoader.Parse(string.Empty, File).Metrics);
    }

    [Fact]
    public void ReadsThePollersWithOneByDefault()
    {
        Assert.Equal(3, ConfigLoader.Parse("pollers = 3", File).Pollers);
        Assert.Equal(0, ConfigLoader.Parse("pollers = 0", File).Pollers);
        Assert.Equal(1, ConfigLoader.Parse(string.Empty, File).Pollers);
        Assert.Equal(1, ConfigLoader.Parse(string.Empty, File).ToBridgeOptions().Pollers);
    }

    [Fact]
    public void ReadsTheGuardsOfAnyPortTypeAndForwardLinkLocal()
    {
        var config = ConfigLoader.Parse("forward_link_local = true\n[[port]]\ninterface = \"t1\"\nbpdu_guard = true\n[[port]]\ntype = \"qemu-stream\"\npath = \"/run/vm.sock\"\nbpdu_guard = true\n[[port]]\ninterface = \"t2\"", File);

        Assert.True(config.ForwardLinkLocal);
        Assert.True(config.ToBridgeOptions().ForwardLinkLocal);
        Assert.Equal([true, true, false], config.Ports.Select(port => port.Guard.BpduGuard));
        Assert.False(ConfigLoader.Parse(string.Empty, File).ForwardLinkLocal);
        var error = Assert.Throws<ConfigException>(() => ConfigLoader.Parse("[[port]]\ninterface = \"t1\"\nbpdu_guard = \"yes\"", File));
        Assert.Contains(error.Errors, message => message.StartsWith("switch.toml:3: bpdu_guard must be true or false", StringComparison.Ordinal));
    }

    [Fact]
    public void ReadsTheMacLimitAndWhatReachingItDoes()
    {
        var config = ConfigLoader.Parse("[[port]]\ninterface = \"t1\"\nmax_macs = 16\non_limit = \"shutdown\"\n[[port]]\ninterface = \"t2\"\nmax_macs = 4", File);

        Assert.Equal([16, 4], config.Ports.Select(port => port.Guard.MaxMacs));
        Assert.Equal([MacLimitAction.Shutdown, MacLimitAction.Drop], config.Ports.Select(port => port.Guard.OnLimit));
        Assert.Contains(Assert.Throws<ConfigException>(() => ConfigLoader.Parse("[[port]]\ninterface = \"t1\"\nmax_macs = 4\non_limit = \"ignore\"", File)).Errors,
            message => message.StartsWith("switch.toml:4: on_limit = \"ignore\" is not known; allowed: \"drop\"", StringComparison.Ordinal));
        Assert.Contains(Assert.Throws<ConfigException>(() => ConfigLoader.Parse("[[port]]\ninterface = \"t1\"\non_limit = \"log\"", File)).Errors,
            message => message.StartsWith("switch.toml:3: on_limit needs max_macs = N", StringComparison.Ordinal));
        Assert.Contains(Assert.Throws<ConfigException>(() => ConfigLoader.Parse("[[port]]\ninterface = \"t1\"\nmax_macs = 0", File)).Errors,
            message => message.StartsWith("switch.toml:3: max_macs must be an integer from 1", StringComparison.Ordinal));
    }

    [Fact]
    public void ReadsThePortsMtu()
    {
        var config = ConfigLoader.Parse("[[port]]\ninterface = \"t1\"\nmtu = 9000\n[[port]]\ninterface = \"t2\"", File);

        Assert.Equal([9000, PortGuard.NoMtu], config.Ports.Select(port => port.Guard.Mtu));
        Assert.Contains(Assert.Throws<ConfigException>(() => ConfigLoader.Parse("[[port]]\ninterface = \"t1\"\nmtu = 67", File)).Errors,
            message => message.StartsWith("switch.toml:3: mtu must be an integer from 68 to 65535", StringComparison.Ordinal));
    }

    [Fact]
    public void ReadsStormControlAsAnInlineTable()
    {
        var config = ConfigLoader.Parse("[[port]]\ninterface = \"t1\"\nstorm = { broadcast_pps = 100, unknown_unicast_pps = 2000 }\n[[port]]\ninterface = \"t2\"", File);

        Assert.Equal(new StormLimits(100, 0, 2000), config.Ports[0].Guard.Storm);
        Assert.False(config.Ports[1].Guard.Storm.Any);
        Assert.Contains(Assert.Throws<ConfigException>(() => ConfigLoader.Parse("[[port]]\ninterface = \"t1\"\nstorm = { broadcast = 10 }", File)).Errors,
            message => message.StartsWith("switch.toml:3: unknown key 'broadcast' in storm; allowed: broadcast_pps, multicast_pps, unknown_unicast_pps", StringComparison.Ordinal));
        Assert.Contains(Assert.Throws<ConfigException>(() => ConfigLoader.Parse("[[port]]\ninterface = \"t1\"\nstorm = 10", File)).Errors,
            message => message.StartsWith("switch.toml:3: storm must be an inline table", StringComparison.Ordinal));
        Assert.Contains(Assert.Throws<ConfigException>(() => ConfigLoader.Parse("[[port]]\ninterface = \"t1\"\nstorm = { multicast_pps = 0 }", File)).Errors,
            message => message.StartsWith("switch.toml:3: multicast_pps must be an integer from 1", StringComparison.Ordinal));
    }

    [Fact]
    public void ReadsTheUserGroupAndRuntimeChanges()
    {
        var config = ConfigLoader.Parse("user = \"userbridge\"\ngroup = \"netdev\"\nruntime_changes = false", File);

        Assert.Equal(("userbridge", "netdev", false), (config.User, config.Group, config.RuntimeChanges));
        var defaults = ConfigLoader.Parse(string.Empty, File);
        Assert.Equal((null, null, true), (defaults.User, defaults.Group, defaults.RuntimeChanges));
        Assert.Contains(Assert.Throws<ConfigException>(() => ConfigLoader.Parse("user = \"Bad User\"", File)).Errors,
            message => message.StartsWith("switch.toml:1: user = \"Bad User\" is not valid; use the name of an existing user", StringComparison.Ordinal));
        Assert.Contains(Assert.Throws<ConfigException>(() => ConfigLoader.Parse("runtime_changes = \"no\"", File)).Errors,
            message => message.StartsWith("switch.toml:1: runtime_changes must be true or false", StringComparison.Ordinal));
    }

    [Fact]
    public void AnEmptyFileGivesTheDefaults()
    {
        var config = ConfigLoader.Parse(string.Empty, File);

        Assert.Equal("ub0", config.Name);
        Assert.Equal(TimeSpan.FromSeconds(300), config.Aging);
        Assert.Equal(65536, config.MacTableSize);
        Assert.Equal("/run/userbridge/ub0.sock", config.ControlPath);
        Assert.Empty(config.Ports);
    }

    [Theory]
    [InlineData("colour = \"red\"", "switch.toml:1: unknown key 'colour'; allowed at the top level: name, aging, mac_table_size, control, vlan_filtering, forward_link_local, cpus, pollers, metrics, user, group, runtime_changes, runtime_ports, max_clients, max_clients_per_user, [[port]], [[mirror]] and [capture] tables")]
    [InlineData("aging = \"soon\"", "switch.toml:1: aging must be a duration from 1s to 1000000s (about 11.6 days), such as \"300s\", \"5m\", \"1h\" or \"1500ms\"")]
    [InlineData("aging = \"0s\"", "switch.toml:1: aging must be a duration")]
    [InlineData("mac_table_size = 0", "switch.toml:1: mac_table_size must be an integer from 1 to 67108864")]
    [InlineData("mac_table_size = \"big\"", "switch.toml:1: mac_table_size must be an integer")]
    [InlineData("name = 5", "switch.toml:1: name must be a string in double quotes")]
    [InlineData("cpus = \"0-999\"", "switch.toml:1: cpus = \"0-999\" is not valid; use a list of CPU numbers")]
    [InlineData("cpus = \"x\"", "switch.toml:1: cpus = \"x\" is not valid")]
    [InlineData("metrics = \"localhost\"", "switch.toml:1: metrics = \"localhost\" is not valid; use ADDRESS:PORT, such as \"127.0.0.1:9464\"")]
    [InlineData("metrics = \"127.0.0.1\"", "switch.toml:1: metrics = \"127.0.0.1\" is not valid")]
    [InlineData("pollers = 65", "switch.toml:1: pollers must be an integer from 0 to 64")]
    [InlineData("pollers = \"one\"", "switch.toml:1: pollers must be an integer")]
    [InlineData("name = \"has space\"", "switch.toml:1: name = \"has space\" is not valid; use 1 to 32 letters")]
    [InlineData("[bridge]\nname = \"x\"", "switch.toml:1: unknown table [bridge]; allowed: [[port]]")]
    [InlineData("\n\n[[port]]\ninterface = \"a\"\nspeed = 10", "switch.toml:5: unknown key 'speed' in [[port]] of type \"tap\"; allowed: name, type, interface")]
    [InlineData("[[port]]\ninterface = \"a\"\ntype = \"gre\"", "switch.toml:3: port type \"gre\" is not known; allowed: \"tap\", \"packet\", \"qemu-stream\", \"qemu-dgram\", \"vxlan\", \"geneve\"")]
    [InlineData("[[port]]\ninterface = \"much-too-long-name\"", "switch.toml:2: interface \"much-too-long-name\" is not valid")]
    [InlineData("[[port]]\nname = \"p1\"", "switch.toml:1: [[port]] has no interface; add interface = \"IFNAME\"")]
    [InlineData("name = \"x\"\nname = ", "switch.toml:2:")]
    public void RejectsABadLineNamingTheFileTheLineAndWhatIsAllowed(string toml, string expected)
    {
        var error = Assert.Throws<ConfigException>(() => ConfigLoader.Parse(toml, File));

        Assert.Contains(error.Errors, message => message.StartsWith(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void RejectsDuplicatePortsNamingBothLines()
    {
        var error = Assert.Throws<ConfigException>(() => ConfigLoader.Parse(
            """
            [[port]]
            name = "p1"
            interface = "a"
            [[port]]
            name = "p1"
            interface = "b"
            [[port]]
            name = "p3"
            interface = "a"
            """,
            File));

        Assert.Equal(2, error.Errors.Count);
        Assert.Equal("switch.toml:4: duplicate port name 'p1' (first at switch.toml:1); give each port its own name", error.Errors[0]);
        Assert.Equal("switch.toml:7: interface 'a' is already used by port 'p1'; each can be one port only", error.Errors[1]);
    }

    [Fact]
    public void ReportsEveryErrorOfAFileTogether()
    {
        var error = Assert.Throws<ConfigException>(() => ConfigLoader.Parse("aging = \"x\"\nsize = 3\n[[port]]\ninterface = \"a\"\nfoo = 1\n", File));

        Assert.Equal(3, error.Errors.Count);
        Assert.Equal(error.Errors, error.Message.Split(Environment.NewLine));
    }

    [Fact]
    public void ReadsQemuSocketPortsWithTheirRolesAndDefaults()
    {
        var config = ConfigLoader.Parse(
            """
            [[port]]
            type = "qemu-stream"
            path = "/run/userbridge/vms.sock"
            multi = true
            mode = "0660"
            group = "kvm"

            [[port]]
            name = "vm2"
            type = "qemu-stream"
            path = "/run/vm2.sock"
            role = "connect"

            [[port]]
            type = "qemu-dgram"
            path = "/run/userbridge/vm3.sock"
            remote = "/run/vm3-qemu.sock"
            """,
            File);

        Assert.Equal(3, config.Ports.Count);
        var vms = (QemuStreamSettings)config.Ports[0].Settings;
        Assert.Equal(("vms", "qemu-stream", "/run/userbridge/vms.sock", "listen", true), (config.Ports[0].Name, config.Ports[0].Type.Name, vms.Path, vms.Role, vms.Multi));
        Assert.Equal((UnixFileMode)Convert.ToInt32("660", 8), vms.Mode);
        Assert.Equal("kvm", vms.Group);
        var vm2 = (QemuStreamSettings)config.Ports[1].Settings;
        Assert.Equal(("vm2", "connect", false), (config.Ports[1].Name, vm2.Role, vm2.Multi));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, vm2.Mode);
        Assert.Equal(("vm3", "qemu-dgram", "/run/vm3-qemu.sock"), (config.Ports[2].Name, config.Ports[2].Type.Name, ((QemuDgramSettings)config.Ports[2].Settings).Remote));
    }

    [Fact]
    public void ReadsVhostUserPortsInBothRoles()
    {
        var config = ConfigLoader.Parse(
            """
            [[port]]
            type = "vhost-user"
            path = "/run/userbridge/vm1.sock"
            queues = 4
            mode = "0660"

            [[port]]
            name = "vm2"
            type = "vhost-user"
            path = "/run/vm2.sock"
            role = "client"
            """,
            File);

        var (vm1, vm2) = ((VhostUserSettings)config.Ports[0].Settings, (VhostUserSettings)config.Ports[1].Settings);
        Assert.Equal(("vm1", "vhost-user", "server", 4), (config.Ports[0].Name, config.Ports[0].Type.Name, vm1.Role, vm1.Queues));
        Assert.Equal((UnixFileMode)Convert.ToInt32("660", 8), vm1.Mode);
        Assert.Equal(("vm2", "client", 1), (config.Ports[1].Name, vm2.Role, vm2.Queues));
    }

    [Theory]
    [InlineData("[[port]]\ntype = \"qemu-stream\"", "switch.toml:1: [[port]] of type \"qemu-stream\" has no path; add path =")]
    [InlineData("[[port]]\ntype = \"qemu-stream\"\npath = \"vm.sock\"", "switch.toml:3: path \"vm.sock\" must be absolute")]
    [InlineData("[[port]]\ntype = \"qemu-stream\"\npath = \"/a.sock\"\nrole = \"serve\"", "switch.toml:4: role \"serve\" is not known; allowed: \"listen\"")]
    [InlineData("[[port]]\ntype = \"qemu-stream\"\npath = \"/a.sock\"\nrole = \"connect\"\nmulti = true", "switch.toml:5: multi = true needs role = \"listen\"")]
    [InlineData("[[port]]\ntype = \"qemu-stream\"\npath = \"/a.sock\"\nmulti = \"yes\"", "switch.toml:4: multi must be true or false")]
    [InlineData("[[port]]\ntype = \"qemu-stream\"\npath = \"/a.sock\"\nmax_connections = 8", "switch.toml:4: max_connections needs multi = true")]
    [InlineData("[[port]]\ntype = \"qemu-stream\"\npath = \"/a.sock\"\nmode = \"0200\"", "switch.toml:4: mode must be an octal string")]
    [InlineData("[[port]]\ntype = \"qemu-dgram\"\npath = \"/a.sock\"\ninterface = \"x\"", "switch.toml:4: unknown key 'interface' in [[port]] of type \"qemu-dgram\"; allowed: name, type, path, remote, mode, group, vlan, allowed, native, tpid")]
    [InlineData("[[port]]\ninterface = \"x\"\nmulti = true", "switch.toml:3: unknown key 'multi' in [[port]] of type \"tap\"")]
    [InlineData("[[port]]\ntype = \"vhost-user\"\npath = \"/a.sock\"\nrole = \"listen\"", "switch.toml:4: role \"listen\" is not known; allowed: \"server\"")]
    [InlineData("[[port]]\ntype = \"vhost-user\"\npath = \"/a.sock\"\nqueues = 9", "switch.toml:4: queues must be an integer from 1 to 8")]
    [InlineData("[[port]]\ntype = \"vhost-user\"\npath = \"/a.sock\"\nrole = \"client\"\ngroup = \"kvm\"", "switch.toml:5: mode and group set the socket file the switch creates")]
    public void RejectsBadSocketPortSettingsNamingTheLine(string toml, string expected)
    {
        var error = Assert.Throws<ConfigException>(() => ConfigLoader.Parse(toml, File));

        Assert.Contains(error.Errors, message => message.StartsWith(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void TheSampleConfigsAreValid()
    {
        var samples = Path.Combine(Repository.Root, "samples");
        var files = Directory.GetFiles(samples, "*.toml");

        Assert.NotEmpty(files);
        Assert.All(files, file => Assert.NotEmpty(ConfigLoader.LoadFile(file).Ports));
    }

    [Fact]
    public void ReadsVlanSettingsOfEveryMode()
    {
        var config = ConfigLoader.Parse(
            """
            [[port]]
            interface = "a1"
            mode = "access"
            vlan = 10

            [[port]]
            interface = "t1"
            mode = "trunk"
            allowed = "10,20,100-102"
            native = 20

            [[port]]
            interface = "q1"
            mode = "dot1q-tunnel"
            vlan = 100

            [[port]]
            interface = "s1"
            mode = "trunk"
            tpid = "0x88a8"

            [[port]]
            interface = "plain"

            [[port]]
            type = "qemu-stream"
            path = "/run/vm.sock"
            mode = "0660"
            """,
            File);

        var access = config.Ports[0].Vlan!;
        Assert.Equal((VlanMode.Access, 10), (access.Mode, access.Vlan));
        var trunk = config.Ports[1].Vlan!;
        Assert.Equal(VlanMode.Trunk, trunk.Mode);
        Assert.Equal([10, 20, 100, 101, 102], trunk.Vlans());
        Assert.Equal((20, (ushort)0x8100), (trunk.Native, trunk.Tpid));
        Assert.Equal((VlanMode.Dot1qTunnel, 100), (config.Ports[2].Vlan!.Mode, config.Ports[2].Vlan!.Vlan));
        Assert.Equal((ushort)0x88a8, config.Ports[3].Vlan!.Tpid);
        Assert.True(config.Ports[3].Vlan!.CarriesAll);
        Assert.Null(config.Ports[4].Vlan);
        Assert.Null(config.Ports[5].Vlan);
        Assert.Equal((UnixFileMode)Convert.ToInt32("660", 8), ((QemuStreamSettings)config.Ports[5].Settings).Mode);
    }

    [Theory]
    [InlineData("[[port]]\ninterface = \"a\"\nvlan = 4095", "switch.toml:3: vlan must be a VLAN ID from 1 to 4094")]
    [InlineData("[[port]]\ninterface = \"a\"\nvlan = 0", "switch.toml:3: vlan must be a VLAN ID from 1 to 4094")]
    [InlineData("[[port]]\ninterface = \"a\"\nmode = \"hybrid\"", "switch.toml:3: mode must be an octal string")]
    [InlineData("[[port]]\ninterface = \"a\"\nmode = \"trunk\"\nallowed = \"10,30-20\"", "switch.toml:4: allowed = \"10,30-20\": \"30-20\" is not a VLAN ID from 1 to 4094 or a range")]
    [InlineData("[[port]]\ninterface = \"a\"\nmode = \"trunk\"\nallowed = \"10,x\"", "switch.toml:4: allowed = \"10,x\"")]
    [InlineData("[[port]]\ninterface = \"a\"\nmode = \"trunk\"\nallowed = \"10,20\"\nnative = 30", "switch.toml:5: native = 30 is not in allowed")]
    [InlineData("[[port]]\ninterface = \"a\"\nmode = \"access\"\ntpid = \"0x88a8\"", "switch.toml:4: tpid does not apply to mode = \"access\"")]
    [InlineData("[[port]]\ninterface = \"a\"\nmode = \"trunk\"\nvlan = 10", "switch.toml:4: vlan does not apply to mode = \"trunk\"")]
    [InlineData("[[port]]\ninterface = \"a\"\nmode = \"trunk\"\ntpid = \"0x9100\"", "switch.toml:4: tpid must be \"0x8100\" (802.1Q) or \"0x88a8\"")]
    [InlineData("vlan_filtering = 1", "switch.toml:1: vlan_filtering must be true or false")]
    public void RejectsBadVlanSettingsNamingTheLineAndTheFix(string toml, string expected)
    {
        var error = Assert.Throws<ConfigException>(() => ConfigLoader.Parse(toml, File));

        Assert.Contains(error.Errors, message => message.StartsWith(expected, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("1500ms", 1500)]
    [InlineData("300s", 300_000)]
    [InlineData("300", 300_000)]
    [InlineData("5m", 300_000)]
    [InlineData("2h", 7_200_000)]
    public void ParsesDurationsWithUnits(string text, long milliseconds)
    {
        Assert.True(ConfigValues.TryParseDuration(text, out var duration));
        Assert.Equal(milliseconds, (long)duration.TotalMilliseconds);
    }

    [Fact]
    public void AMissingFileIsAnErrorNamingIt()
    {
        var error = Assert.Throws<ConfigException>(() => ConfigLoader.LoadFile("/nonexistent/ub.toml"));

        Assert.StartsWith("/nonexistent/ub.toml: cannot read the config file", error.Message, StringComparison.Ordinal);
    }
}
