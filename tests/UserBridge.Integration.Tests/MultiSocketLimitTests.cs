using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using UserBridge.Control.Config;
using UserBridge.Control.Runtime;
using UserBridge.Core.Learning;
using UserBridge.Core.Ports;
using UserBridge.Core.Switching;
using UserBridge.Linux.Ports.QemuStream;

namespace UserBridge.Integration.Tests;

/// <summary>
/// A <c>multi</c> QEMU stream socket against a peer that opens connections without end: each connection the switch
/// cannot make a port of (over <c>max_connections</c>, a full switch, a name already taken) is refused and counted, and
/// leaves no thread, eventfd or socket behind. Run in this process, which plays every VM; no root needed.
/// </summary>
public sealed class MultiSocketLimitTests : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);
    private readonly string _directory = Directory.CreateTempSubdirectory("ub-multi-").FullName;
    private readonly List<Socket> _peers = [];

    public void Dispose()
    {
        foreach (var peer in _peers)
        {
            peer.Dispose();
        }

        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public void ConnectionsOverMaxConnectionsAreRefusedCountedAndLeaveNothingBehind()
    {
        using var bridge = new Bridge(new BridgeOptions());
        bridge.Start();
        using var ports = new RunningSwitch(bridge, NullLogger.Instance, _ => { });
        var path = Path.Combine(_directory, "vms.sock");
        ports.Add(new PortConfig("vms", QemuStreamPortType.Instance, new QemuStreamSettings(path) { Multi = true, MaxConnections = 4 }));
        var before = Resources.Now();

        for (var i = 0; i < 10; i++)
        {
            Connect(path);
        }

        WaitFor(() => bridge.Refusals(PortRefusal.ConnectionLimit) == 6, "six connections refused over max_connections = 4");
        Assert.Equal(["vms-1", "vms-2", "vms-3", "vms-4"], PortNames(bridge));
        Assert.All(_peers.Skip(4), peer => Assert.Equal(0, peer.Receive(new byte[4])));

        CloseAll();
        WaitFor(() => PortNames(bridge).Count == 0, "the four ports to go with their connections");
        WaitFor(() => Resources.Now() == before, $"threads and fds back to {before} (now {Resources.Now()})");
    }

    [Fact]
    public void ConnectionsTheSwitchHasNoRoomForAreRefusedBeforeAPortIsBuilt()
    {
        // Not started: the ports that fill the switch need no worker threads of their own.
        using var bridge = new Bridge(new BridgeOptions());
        for (var i = 0; i < MacTable.MaxPorts - 1; i++)
        {
            bridge.AddPort(new MemoryPort($"m{i}", keepSent: false));
        }

        using var ports = new RunningSwitch(bridge, NullLogger.Instance, _ => { });
        var path = Path.Combine(_directory, "vms.sock");
        ports.Add(new PortConfig("vms", QemuStreamPortType.Instance, new QemuStreamSettings(path) { Multi = true, MaxConnections = MacTable.MaxPorts }));
        Connect(path);
        WaitFor(() => bridge.Snapshot.Find("vms-1") is not null, "the last free port to go to the first VM");
        var before = Resources.Now();

        for (var i = 0; i < 50; i++)
        {
            Connect(path);
        }

        WaitFor(() => bridge.Refusals(PortRefusal.SwitchFull) == 50, "fifty connections refused: the switch is full");
        Assert.All(_peers.Skip(1), peer => Assert.Equal(0, peer.Receive(new byte[4])));
        foreach (var refused in _peers.Skip(1))
        {
            refused.Dispose();
        }

        Assert.Equal(before, Resources.Now());
    }

    [Fact]
    public void AConnectionSkipsANameAnotherPortAlreadyHas()
    {
        using var bridge = new Bridge(new BridgeOptions());
        bridge.Start();
        using var ports = new RunningSwitch(bridge, NullLogger.Instance, _ => { });
        bridge.AddPort(new MemoryPort("vms-1", keepSent: false));
        var path = Path.Combine(_directory, "vms.sock");
        ports.Add(new PortConfig("vms", QemuStreamPortType.Instance, new QemuStreamSettings(path) { Multi = true }));
        var before = Resources.Now();

        Connect(path);
        WaitFor(() => bridge.Snapshot.Find("vms-2") is not null, "the connection to become vms-2, vms-1 being taken");
        Assert.IsType<MemoryPort>(bridge.Snapshot.Find("vms-1")!.Port);

        CloseAll();
        WaitFor(() => bridge.Snapshot.Find("vms-2") is null, "vms-2 to go with its connection");
        WaitFor(() => Resources.Now() == before, $"threads and fds back to {before} (now {Resources.Now()})");
        Assert.Equal(0, PortRefusals.All.Sum(bridge.Refusals));
    }

    private void Connect(string path)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified) { ReceiveTimeout = (int)Deadline.TotalMilliseconds };
        socket.Connect(new UnixDomainSocketEndPoint(path));
        _peers.Add(socket);
    }

    private void CloseAll()
    {
        foreach (var peer in _peers)
        {
            peer.Dispose();
        }

        _peers.Clear();
    }

    private static List<string> PortNames(Bridge bridge) =>
        [.. bridge.Snapshot.Ports.Where(slot => slot?.Port.Type == "qemu-stream").Select(slot => slot!.Name).Order(StringComparer.Ordinal)];

    private static void WaitFor(Func<bool> condition, string what) => Waiting.Until(condition, what, Deadline, pollMilliseconds: 10);

    /// <summary>What a stream connection's port holds in this process: its sender thread, its eventfds, its socket.</summary>
    private readonly record struct Resources(int SenderThreads, int EventFds, int UnixSockets)
    {
        public static Resources Now()
        {
            var senders = Directory.GetDirectories("/proc/self/task").Count(task => File.ReadAllText(Path.Combine(task, "comm")).StartsWith("ub-tx-", StringComparison.Ordinal));
            var targets = Directory.GetFiles("/proc/self/fd").Select(Target).ToList();
            return new Resources(senders, targets.Count(target => target == "anon_inode:[eventfd]"), targets.Count(target => target.StartsWith("socket:", StringComparison.Ordinal)));
        }

        private static string Target(string fd)
        {
            try
            {
                return new FileInfo(fd).LinkTarget ?? string.Empty;
            }
            catch (IOException)
            {
                return string.Empty;
            }
        }
    }
}
