namespace UserBridge.Capture.Tests;

/// <summary>One option TLV of a block as read back: its code and its value without padding.</summary>
internal sealed record PcapngOption(ushort Code, byte[] Value);
