namespace UserBridge.Capture.Tests;

/// <summary>One block as read back: its type, its total length and the body between the two length fields.</summary>
internal sealed record PcapngBlock(uint Type, int TotalLengthBytes, byte[] Body);
