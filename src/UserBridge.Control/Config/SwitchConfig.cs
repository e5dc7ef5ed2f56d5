using System.Net;
using UserBridge.Control.Management;
using UserBridge.Core.Learning;
using UserBridge.Core.Switching;
using UserBridge.Linux.Host;
using UserBridge.Linux.Interop;

namespace UserBridge.Control.Config;

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
            AdviseHugePages = HugePages.Advise,
        };
    }
}
