namespace UserBridge.Core;

/// <summary>
/// A port as the data path sees it in one <see cref="SwitchSnapshot"/>: immutable; a change of state makes a
/// new slot in a new snapshot. The counters object is shared by every slot of the same port.
/// </summary>
public sealed record PortSlot(int Index, IPort Port, PortCounters Counters, bool IsUp)
{
    public string Name => Port.Name;
}
