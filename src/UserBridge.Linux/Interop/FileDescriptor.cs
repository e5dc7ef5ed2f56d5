using Tmds.Linux;

namespace UserBridge.Linux.Interop;

/// <summary>File descriptors the switch owns.</summary>
public static class FileDescriptor
{
    /// <summary>Closes an fd of ours. close() errors are not actionable here: the fd is released either way.</summary>
    public static void CloseQuietly(int fd) => _ = LibC.close(fd);
}
