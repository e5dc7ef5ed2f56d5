
using System.Text.Json;

namespace UserBridge.Integration.Tests;

/// <summary>
/// One test's world for the switch with QEMU guests and namespaces: names unique to the test run, a temporary
/// directory for sockets and the config, the `userbridge` process and the guests. Dispose removes all of it,
/// guests and switch first (by PID), also when the test failed.
/// </summary>
internal sealed class GuestLab : IDisposable
{
    private readonly List<QemuGuest> _guests = [];

    public GuestLab()
    {
        Directory = System.IO.Directory.CreateTempSubdirectory($"{Network.Prefix}-").FullName;
        ControlPath = Path.Combine(Directory, "control.sock");
        ConfigPath = Path.Combine(Directory, "switch.toml");
    }

    public TestNetwork Network { get; } = new();

    public string Prefix => Network.Prefix;

    public string Directory { get; }

    public string ControlPath { get; }

    public string ConfigPath { get; }

    public SwitchProcess? Switch { get; private set; }

    /// <summary>Writes a config of <paramref name="portTables"/> (TOML <c>[[port]]</c> texts) and starts the switch on it.</summary>
    public void StartSwitch(params string[] portTables)
    {
        File.WriteAllText(ConfigPath, $"name = \"{Prefix}\"\n\n" + string.Join("\n\n", portTables) + "\n");
        Switch = SwitchProcess.StartSwitch("--config", ConfigPath, "--control", ControlPath);
    }

    /// <summary>Stops the switch with SIGTERM (asserting a clean exit) and starts it again on the same config.</summary>
    public void RestartSwitch()
    {
        var (exitCode, _) = Switch!.Terminate(TimeSpan.FromSeconds(10));
        Assert.Equal(0, exitCode);
        Switch.Dispose();
        Switch = SwitchProcess.StartSwitch("--config", ConfigPath, "--control", ControlPath);
    }

    public string Socket(string name) => Path.Combine(Directory, name);

    /// <summary>A qemu-stream port the switch listens on, <paramref name="extra"/> lines added (VLAN keys, multi).</summary>
    public string StreamPort(string name, string socket, string extra = "") => $"""
        [[port]]
        name = "{name}"
        type = "qemu-stream"
        path = "{Socket(socket)}"
        {extra}
        """;

    /// <summary>A vhost-user port on <paramref name="socket"/>, <paramref name="extra"/> lines added (role, queues, VLAN keys).</summary>
    public string VhostUserPort(string name, string socket, string extra = "") => $"""
        [[port]]
        name = "{name}"
        type = "vhost-user"
        path = "{Socket(socket)}"
        {extra}
        """;

    public static string PacketPort(string name, string interfaceName) => $"""
        [[port]]
        name = "{name}"
        type = "packet"
        interface = "{interfaceName}"
        """;

    public static string TapPort(string name, string interfaceName, string extra = "") => $"""
        [[port]]
        name = "{name}"
        type = "tap"
        interface = "{interfaceName}"
        {extra}
        """;

    /// <summary>QEMU's side of a stream port: <c>-netdev stream,server=off</c> on the socket.</summary>
    public string[] StreamClient(string socket) =>
        ["-netdev", $"stream,id=n0,server=off,addr.type=unix,addr.path={Socket(socket)}"];

    /// <summary>
    /// QEMU's side of a vhost-user port: the chardev on <paramref name="socket"/> (connecting to the switch, again a
    /// second after losing it with <paramref name="qemuReconnects"/>; or with <paramref name="qemuListens"/> listening
    /// for it: the port's role client), the netdev, the guest's RAM shared and the NIC. With more than one queue pair
    /// the guest gets as many CPUs: its virtio-net driver uses min(queue pairs, CPUs) of them.
    /// </summary>
    public string[] VhostUser(string socket, string mac, bool qemuListens = false, int queuePairs = 1, bool qemuReconnects = false) =>
    [
        "-chardev", $"socket,id=c0,path={Socket(socket)}{(qemuListens ? ",server=on,wait=off" : string.Empty)}{(qemuReconnects ? ",reconnect=1" : string.Empty)}",
        "-netdev", $"vhost-user,id=n0,chardev=c0{(queuePairs > 1 ? $",queues={queuePairs}" : string.Empty)}",
        .. QemuGuest.SharedMemory,
        .. QemuGuest.VhostUserNic("n0", mac, queuePairs),
        .. queuePairs > 1 ? new[] { "-smp", $"{queuePairs}" } : [],
    ];

    /// <summary>
    /// Starts a guest on <paramref name="netdev"/> (a virtio NIC for netdev n0 is added unless it has a
    /// <c>-device</c>), with <paramref name="mac"/> and <paramref name="addressWithPrefix"/> on eth0.
    /// </summary>
    public QemuGuest Guest(string name, string[] netdev, string mac, string addressWithPrefix, string script, IReadOnlyList<string>? vlans = null, string? fd3Path = null)
    {
        string[] arguments = netdev.Contains("-device") ? netdev : [.. netdev, .. QemuGuest.VirtioNic("n0", mac)];
        var guest = QemuGuest.Start($"{Prefix}-{name}", arguments, mac, addressWithPrefix, script, vlans, fd3Path);
        _guests.Add(guest);
        return guest;
    }

    /// <summary><c>fdb show -j</c>, with <paramref name="filter"/> options (<c>--vlan 10</c>).</summary>
    public JsonElement Fdb(params string[] filter) => Cli.Json(["fdb", "show", "--control", ControlPath, "-j", .. filter]);

    /// <summary><c>port show -j</c>: every port's row.</summary>
    public JsonElement Ports() => Cli.Json("port", "show", "--control", ControlPath, "-j");

    /// <summary>The <c>port show</c> row of port <paramref name="name"/>, or null while it is not in the bridge.</summary>
    public JsonElement? Port(string name) =>
        Ports().EnumerateArray().Where(p => p.GetProperty("name").GetString() == name).Select(p => (JsonElement?)p).FirstOrDefault();

    public string? PortState(string name) => Port(name)?.GetProperty("state").GetString();

    /// <summary>The port <paramref name="mac"/> is learned on, asserting it is in the table once.</summary>
    public static string? PortOf(JsonElement fdb, string mac)
    {
        var rows = fdb.EnumerateArray().Where(row => row.GetProperty("mac").GetString() == mac).ToList();
        Assert.True(rows.Count == 1, $"expected {mac} once in fdb show, got: {fdb}");
        return rows[0].GetProperty("port").GetString();
    }

    public void Dispose()
    {
        foreach (var guest in _guests)
        {
            guest.Dispose();
        }

        Switch?.Dispose();
        Network.Dispose();
        System.IO.Directory.Delete(Directory, recursive: true);
    }
}
