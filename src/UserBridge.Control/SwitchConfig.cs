using System.Net;
using UserBridge.Core;
using UserBridge.Linux;

namespace UserBridge.Control;

/// <summary>The switch's configuration: what the TOML file and the <c>run</c> flags describe.</summary>
public sealed record SwitchConfig
{
    public string Name { get; init; } = BridgeOptions.DefaultName;

    public TimeSpan Aging { get; init; } = MacTable.DefaultAgingTime;

    public int MacTableSize { get; init; } = MacTable.DefaultCapacity;

    /// <summary>The management socket; null means <see cref="DefaultControlPath"/> of <see cref="Name"/>.</summary>
    public string? Control { get; init; }

    public IReadOnlyList<PortConfig> Ports { get; init; } = [];

    /// <summary>Port mirrors (<c>[[mirror]]</c>).</summary>
    public IReadOnlyList<MirrorConfig> Mirrors { get; init; } = [];

    /// <summary>The always-on capture (<c>[capture]</c>); null: none.</summary>
    public CaptureConfig? Capture { get; init; }

    /// <summary>VLAN-aware even without port VLAN settings (<c>vlan_filtering = true</c>).</summary>
    public bool VlanFiltering { get; init; }

    /// <summary>The user the switch runs as once its ports are open (<c>user = "NAME"</c>); null: it stays who started it.</summary>
    public string? User { get; init; }

    /// <summary>The group that may use the management socket besides the user and root (<c>group = "NAME"</c>).</summary>
    public string? Group { get; init; }

    /// <summary>
    /// Whether ports may be added and the config re-read while running (<c>runtime_changes</c>, default true). With
    /// <see cref="User"/>, true keeps CAP_NET_ADMIN and CAP_NET_RAW on one thread; false keeps no capability.
    /// </summary>
    public bool RuntimeChanges { get; init; } = true;

    /// <summary>The most management clients served at once (<c>max_clients</c>); more are refused with an error line.</summary>
    public int MaxClients { get; init; } = ManagementOptions.DefaultMaxClients;

    /// <summary>The most management clients of one uid served at once (<c>max_clients_per_user</c>).</summary>
    public int MaxClientsPerUser { get; init; } = ManagementOptions.DefaultMaxClientsPerUser;

    /// <summary>The ports a management client other than root may add at runtime (<c>runtime_ports</c>); none by default.</summary>
    public RuntimePorts RuntimePorts { get; init; } = RuntimePorts.None;

    /// <summary>Forward 802.1 link-local frames (STP, LACP, LLDP) instead of dropping them (<c>forward_link_local = true</c>).</summary>
    public bool ForwardLinkLocal { get; init; }

    /// <summary>The CPUs the port workers run on (<c>cpus = "0"</c>, <c>"0-1,3"</c>); null: any, as the kernel places them.</summary>
    public IReadOnlyList<int>? Cpus { get; init; }

    /// <summary>
    /// Poller threads for the TAP, packet and datagram ports (<c>pollers = N</c>): each waits on its share of the ports'
    /// fds and forwards every ready one's batch to completion. 0: a worker thread per port.
    /// </summary>
    public int Pollers { get; init; } = DefaultPollers;

    /// <summary>Where to serve Prometheus metrics (<c>metrics = "127.0.0.1:9464"</c>); null: not served.</summary>
    public IPEndPoint? Metrics { get; init; }

    public string ControlPath => Control ?? DefaultControlPath(Name);

    public const int DefaultPollers = 1;

    public const int MaxPollers = 64;

    public static string DefaultControlPath(string name) => $"/run/userbridge/{name}.sock";

    public BridgeOptions ToBridgeOptions()
    {
        var cpus = Cpus;
        return new()
        {
            Name = Name,
            AgingTime = Aging,
            MacTableSize = MacTableSize,
            VlanFiltering = VlanFiltering,
            ForwardLinkLocal = ForwardLinkLocal,
            WorkerStarting = cpus is null ? null : () => CpuAffinity.PinCurrentThread([.. cpus]),
            Pollers = Pollers,
            CreatePollSet = static () => new EpollSet(),
        };
    }
}

/// <summary>
/// One <c>[[port]]</c> (or <c>port add</c>). <see cref="Line"/> is where it was declared (0 when it came from a
/// flag or the management socket). Which of the optional settings apply depends on <see cref="Type"/>; see
/// <see cref="PortRules"/>.
/// </summary>
public sealed record PortConfig(string Name, string Type, int Line = 0)
{
    /// <summary>The interface of a <c>tap</c> port.</summary>
    public string? Interface { get; init; }

    /// <summary>The unix socket of a <c>qemu-stream</c> or <c>qemu-dgram</c> port.</summary>
    public string? Path { get; init; }

    /// <summary><c>listen</c> (the switch listens, QEMU connects) or <c>connect</c>, for <c>qemu-stream</c>.</summary>
    public string Role { get; init; } = PortRules.RoleListen;

    /// <summary>With <c>role = "listen"</c>: every connection becomes a port NAME-1, NAME-2, ...</summary>
    public bool Multi { get; init; }

    /// <summary>With <see cref="Multi"/>: the most connections served at once (<c>max_connections</c>); more are refused.</summary>
    public int MaxConnections { get; init; } = QemuStreamListener.DefaultMaxConnections;

    /// <summary>For <c>qemu-dgram</c>: where to send, instead of the address frames come from.</summary>
    public string? Remote { get; init; }

    /// <summary>The mode of the socket file the switch creates.</summary>
    public UnixFileMode Mode { get; init; } = SocketFile.DefaultMode;

    /// <summary>The group of the socket file the switch creates (null: the switch's own).</summary>
    public string? Group { get; init; }

    /// <summary>802.1Q settings; null when the port has none (then it is an access port of VLAN 1 if the switch is VLAN-aware).</summary>
    public PortVlan? Vlan { get; init; }

    /// <summary>The port's guards (<c>bpdu_guard</c>).</summary>
    public PortGuard Guard { get; init; } = PortGuard.None;

    /// <summary>For <c>tap</c>: virtio-net headers with checksum and TSO/USO offloads (64 KiB frames pass whole).</summary>
    public bool Offload { get; init; } = true;

    /// <summary>For <c>tap</c>: the number of queues (<c>IFF_MULTI_QUEUE</c> when more than 1), one worker each.</summary>
    public int Queues { get; init; } = 1;

    /// <summary>For <c>vxlan</c> and <c>geneve</c>: the encapsulation, VNIs, underlay and remotes.</summary>
    public OverlaySettings? Overlay { get; init; }

    /// <summary>What the port is attached to: the interface or the socket path.</summary>
    public string Endpoint => Interface ?? Path ?? string.Empty;

    public static PortConfig Tap(string interfaceName, string? name = null) => new(name ?? interfaceName, PortRules.TypeTap) { Interface = interfaceName };
}
