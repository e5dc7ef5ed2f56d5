using UserBridge.Core.Events;
using UserBridge.Core.Learning;
using UserBridge.Core.Ports;

namespace UserBridge.Core.Switching;

/// <summary>The control plane's changes to a port in place: up or down, VLAN settings, guards.</summary>
public sealed partial class Bridge
{
    /// <summary>Sets a port administratively up or down. A down port drops what it receives and is sent nothing.</summary>
    public bool SetPortUp(string name, bool isUp)
    {
        lock (_control)
        {
            var slot = _snapshot.Find(name);
            if (slot is null)
            {
                return false;
            }

            SetUp(slot, isUp);
            return true;
        }
    }

    /// <summary>
    /// Changes a port's VLAN settings (null: none) without touching other ports. Its learned entries are
    /// forgotten, since the VLANs they were learned in may no longer be its own.
    /// </summary>
    public bool SetPortVlan(string name, PortVlan? vlan)
    {
        lock (_control)
        {
            var slot = _snapshot.Find(name);
            if (slot is null)
            {
                return false;
            }

            Publish(slot with { Vlan = vlan ?? PortVlan.Default, HasVlanSettings = vlan is not null });
            MacTable.FlushPort(slot.Index, includeStatic: false);
            return true;
        }
    }

    /// <summary>Changes a port's guards (BPDU guard) in place.</summary>
    public bool SetPortGuard(string name, PortGuard guard)
    {
        ArgumentNullException.ThrowIfNull(guard);
        lock (_control)
        {
            var slot = _snapshot.Find(name);
            if (slot is null)
            {
                return false;
            }

            Publish(slot with { Guard = guard });
            return true;
        }
    }

    /// <summary>Publishes a snapshot in which <paramref name="slot"/> replaces the port at its index; under <c>_control</c>.</summary>
    private void Publish(PortSlot slot)
    {
        var ports = (PortSlot?[])_snapshot.Ports.Clone();
        ports[slot.Index] = slot;
        Publish(ports);
    }

    /// <summary>Takes down the port at <paramref name="index"/> if it is still <paramref name="port"/>; on the control thread.</summary>
    private void TakeDown(int index, IPort port)
    {
        lock (_control)
        {
            if (_snapshot.TryGetPort(index, out var slot) && ReferenceEquals(slot.Port, port))
            {
                SetUp(slot, isUp: false);
            }
        }
    }

    /// <summary>Brings <paramref name="slot"/> up or takes it down (forgetting its learned entries); under <c>_control</c>.</summary>
    private void SetUp(PortSlot slot, bool isUp)
    {
        if (isUp)
        {
            slot.Counters.ClearShutdownLatch();
        }

        if (slot.IsUp != isUp)
        {
            Publish(slot with { IsUp = isUp });
            if (!isUp)
            {
                MacTable.FlushPort(slot.Index, includeStatic: false);
            }

            Events.Publish(BridgeEvent.ForPort(isUp ? BridgeEventKind.PortUp : BridgeEventKind.PortDown, slot.Name, slot.Index));
        }
    }
}
