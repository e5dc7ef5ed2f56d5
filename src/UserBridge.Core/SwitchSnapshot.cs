namespace UserBridge.Core;

/// <summary>
/// The immutable state the workers forward with. The control plane builds a new one for every change and
/// publishes it with one volatile write (<see cref="Bridge"/>); a worker reads the current one once per batch.
/// </summary>
public sealed class SwitchSnapshot
{
    public static SwitchSnapshot Empty { get; } = new([], 0);

    public SwitchSnapshot(PortSlot?[] ports, long version)
    {
        ArgumentNullException.ThrowIfNull(ports);
        Ports = ports;
        Version = version;
        var flood = new List<int>(ports.Length);
        foreach (var slot in ports)
        {
            if (slot is { IsUp: true })
            {
                flood.Add(slot.Index);
            }
        }

        FloodPorts = [.. flood];
    }

    /// <summary>Ports by index; removed ports leave a null until their index is reused.</summary>
    public PortSlot?[] Ports { get; }

    /// <summary>The indexes of the ports that are up: where broadcast and unknown unicast go.</summary>
    public int[] FloodPorts { get; }

    public long Version { get; }

    public PortSlot? Find(string name)
    {
        foreach (var slot in Ports)
        {
            if (slot is not null && slot.Name == name)
            {
                return slot;
            }
        }

        return null;
    }
}
