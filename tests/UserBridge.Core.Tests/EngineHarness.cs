using Microsoft.Extensions.Time.Testing;
using UserBridge.Core.Forwarding;
using UserBridge.Core.Learning;
using UserBridge.Core.Offload;
using UserBridge.Core.Ports;
using UserBridge.Core.Switching;
using UserBridge.Core.Workers;

namespace UserBridge.Core.Tests;

/// <summary>
/// A forwarding engine over a snapshot of <see cref="MemoryPort"/>s, all up, on a fake clock: the data path of
/// one worker without any thread. <see cref="Send"/> runs one frame through it as received on a port.
/// </summary>
internal sealed class EngineHarness : IDisposable
{
    public static readonly TimeSpan AgingTime = TimeSpan.FromSeconds(60);

    private readonly PortSlot[] _slots;

    public EngineHarness(int portCount, int capacity = 1024)
    {
        Time = new FakeTimeProvider();
        Table = new MacTable(capacity, AgingTime, Time);
        Engine = new ForwardingEngine(Table);
        Ports = new MemoryPort[portCount];
        _slots = new PortSlot[portCount];
        for (var i = 0; i < portCount; i++)
        {
            Ports[i] = new MemoryPort($"p{i}");
            _slots[i] = new PortSlot(i, Ports[i], new PortCounters(), IsUp: true);
        }

        Snapshot = BridgeSnapshot.Empty;
        Publish();
    }

    public FakeTimeProvider Time { get; }

    public MacTable Table { get; }

    public ForwardingEngine Engine { get; }

    public MemoryPort[] Ports { get; }

    public BridgeSnapshot Snapshot { get; private set; }

    /// <summary>The worker's scratch state the engine uses, returned to its pool when the harness is disposed.</summary>
    public WorkerContext Context { get; } = new();

    public ForwardingDecision Send(int ingressPort, byte[] frame) => Engine.Process(Snapshot, ingressPort, frame, VirtioNetHeader.None, Context, Table.NowMs);

    public PortCounters Counters(int port) => _slots[port].Counters;

    /// <summary>Publishes a new snapshot in which <paramref name="port"/> is up or down (its counters are kept).</summary>
    public void SetPortUp(int port, bool isUp)
    {
        _slots[port] = _slots[port] with { IsUp = isUp };
        Publish();
    }

    /// <summary>Publishes a new snapshot in which <paramref name="port"/> has VLAN settings (making the switch VLAN-aware).</summary>
    public void SetVlan(int port, PortVlan vlan)
    {
        _slots[port] = _slots[port] with { Vlan = vlan, HasVlanSettings = true };
        Publish();
    }

    /// <summary>Publishes a new snapshot in which <paramref name="port"/> has <paramref name="guard"/> (its counters are kept).</summary>
    public void SetGuard(int port, PortGuard guard)
    {
        _slots[port] = _slots[port] with { Guard = guard };
        Publish();
    }

    /// <summary>Takes every frame the switch has sent out of <paramref name="port"/> so far.</summary>
    public List<byte[]> Drain(int port)
    {
        var frames = new List<byte[]>();
        while (Ports[port].TryTakeSent(out var frame))
        {
            frames.Add(frame!);
        }

        return frames;
    }

    /// <summary>Forgets what every port has sent so far.</summary>
    public void DrainAll()
    {
        for (var i = 0; i < Ports.Length; i++)
        {
            Drain(i);
        }
    }

    public void Dispose()
    {
        Context.Dispose();
        foreach (var port in Ports)
        {
            port.Dispose();
        }
    }

    private void Publish() => Snapshot = new BridgeSnapshot([.. _slots], Snapshot.Version + 1);
}
