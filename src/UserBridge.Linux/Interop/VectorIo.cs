using System.Runtime.InteropServices;

namespace UserBridge.Linux.Interop;

/// <summary>Scatter/gather I/O, which Tmds.LibC lacks: <c>struct iovec</c>, <c>struct msghdr</c> and <c>writev(2)</c>.</summary>
internal static unsafe class VectorIo
{
    /// <summary><c>writev(2)</c>, which Tmds.LibC lacks: a header and a frame in one system call, no copy.</summary>
    [DllImport("libc", EntryPoint = "writev", SetLastError = true)]
    public static extern nint WriteV(int fd, IoVec* iov, int iovcnt);
}
