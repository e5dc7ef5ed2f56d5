using UserBridge.Core.Frames;

namespace UserBridge.Core.Learning;

/// <summary>One row of the MAC table as the control plane reports it.</summary>
public readonly record struct MacTableEntry(MacAddress Mac, int Vlan, int Port, TimeSpan Age, bool IsStatic);
