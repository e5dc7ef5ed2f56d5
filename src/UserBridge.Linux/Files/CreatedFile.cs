namespace UserBridge.Linux.Files;

/// <summary>
/// A file the switch created (a socket it bound, its registry entry), by path and by identity (device and inode): what
/// it may remove at the end, and only while the path still names that very file.
/// </summary>
public sealed record CreatedFile(string Path, ulong Device, ulong Inode);
