using Microsoft.Extensions.Time.Testing;
using UserBridge.Core.Forwarding;
using UserBridge.Core.Learning;
using UserBridge.Core.Offload;
using UserBridge.Core.Ports;
using UserBridge.Core.Switching;
using UserBridge.Core.Workers;

namespace UserBridge.Core.Tests.Vlan;

/// <summary>
/// A forwarding engine over a snapshot whose ports (all up) have the VLAN settings a test gives, on a fake clock.
/// A port given <c>null</c> settings has none (the default access port in VLAN 1, not making the switch aware).
/// </summary>
internal sealed class VlanSwitch : IDisposable
{
    private readonly PortSlot[] _slots;

    public VlanSwitch(IReadOnlyList<(IPort Port, PortVlan? Vlan)> ports, bool vlanFiltering = false)
    {
        ArgumentNullException.ThrowIfNull(ports);
        Time = new FakeTimeProvider();
        Table = new MacTable(1024, TimeSpan.FromSeconds(60), Time);
        Engine = new ForwardingEngine(Table);
        _slots = new PortSlot[ports.Count];
        for (var i = 0; i < ports.Count; i++)
        {
            var (port, vlan) = ports[i];
            _slots[i] = new PortSlot(i, port, new PortCounters(), IsUp: true)
            {
                Vlan = vlan ?? PortVlan.Default,
                HasVlanSettings = vlan is not null,
            };
        }

        Snapshot = new BridgeSnapshot([.. _slots], 1, vlanFiltering);
    }

    public FakeTimeProvider Time { get; }

    public MacTable Table { get; }

    public ForwardingEngine Engine { get; }

    public BridgeSnapshot Snapshot { get; }

    public WorkerContext Context { get; } = new();

    /// <summary>A switch of <see cref="MemoryPort"/>s named p0, p1, … with these settings.</summary>
    public static VlanSwitch Of(params PortVlan?[] vlans) => new([.. vlans.Select((vlan, i) => ((IPort)new MemoryPort($"p{i}"), vlan))]);

    /// <summary>A switch of <paramref name="portCount"/> ports without settings, VLAN-filtering or not.</summary>
    public static VlanSwitch WithoutSettings(int portCount, bool vlanFiltering) =>
        new([.. Enumerable.Range(0, portCount).Select(i => ((IPort)new MemoryPort($"p{i}"), (PortVlan?)null))], vlanFiltering);

    public ForwardingDecision Send(int ingressPort, byte[] frame) => Engine.Process(Snapshot, ingressPort, frame, VirtioNetHeader.None, Context, Table.NowMs);

    public ForwardingDecision Send(int ingressPort, byte[] frame, VirtioNetHeader offload) =>
        Engine.Process(Snapshot, ingressPort, frame, offload, Context, Table.NowMs);

    public PortCounters Counters(int port) => _slots[port].Counters;

    /// <summary>Takes every frame the switch has sent out of the memory port <paramref name="port"/> so far.</summary>
    public List<byte[]> Drain(int port)
    {
        var frames = new List<byte[]>();
        var memoryPort = (MemoryPort)_slots[port].Port;
        while (memoryPort.TryTakeSent(out var frame))
        {
            frames.Add(frame!);
        }

        return frames;
    }

    /// <summary>Forgets what every memory port has sent so far.</summary>
    public void DrainAll()
    {
        foreach (var slot in _slots)
        {
            if (slot.Port is MemoryPort)
            {
                Drain(slot.Index);
            }
        }
    }

    public void Dispose()
    {
        Context.Dispose();
        foreach (var slot in _slots)
        {
            slot.Port.Dispose();
        }
    }
}
