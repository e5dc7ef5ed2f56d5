using System.Runtime.InteropServices;
using UserBridge.Linux.Interop;

namespace UserBridge.Linux.Host;

/// <summary>
/// The process's file descriptors against its limit (<c>RLIMIT_NOFILE</c>). The .NET runtime raises the soft limit to
/// the hard one when it starts, so the soft limit read here is already as high as the process may go.
/// </summary>
public static partial class OpenFiles
{
    private const int RlimitNofile = 7;
    private const string FdDirectory = "/proc/self/fd";

    /// <summary>
    /// The soft limit now: the first fd number <c>open</c>, <c>socket</c> and <c>accept</c> may not hand out (read on
    /// each call, so a limit lowered from outside with <c>prlimit --pid</c> counts at once); <see cref="long.MaxValue"/>
    /// for no limit.
    /// </summary>
    public static long SoftLimit
    {
        get
        {
            if (GetRlimit(RlimitNofile, out var limit) != 0)
            {
                throw new InteropException("getrlimit RLIMIT_NOFILE", Marshal.GetLastPInvokeError());
            }

            return limit.Current > long.MaxValue ? long.MaxValue : (long)limit.Current;
        }
    }

    /// <summary>How many descriptors the process has open now (the entries of /proc/self/fd, less the one that lists them).</summary>
    public static int Count() => Directory.EnumerateFileSystemEntries(FdDirectory).Count() - 1;

    [StructLayout(LayoutKind.Sequential)]
    private struct Rlimit
    {
        public ulong Current;
        public ulong Maximum;
    }

    [LibraryImport("libc", EntryPoint = "getrlimit", SetLastError = true)]
    private static partial int GetRlimit(int resource, out Rlimit limit);
}
