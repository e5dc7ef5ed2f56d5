using System.Runtime.InteropServices;

namespace UserBridge.Linux.Host;

/// <summary>The calling thread's nice value (on Linux, <c>setpriority(PRIO_PROCESS, 0)</c> applies to one thread).</summary>
public static partial class ThreadNice
{
    private const int PrioProcess = 0;

    /// <summary>
    /// Makes the calling thread yield the CPU to normal threads when they compete; returns false (changing nothing) when
    /// the kernel refuses.
    /// </summary>
    public static bool Lower(int nice) => SetPriority(PrioProcess, 0, nice) == 0;

    [LibraryImport("libc", EntryPoint = "setpriority", SetLastError = true)]
    private static partial int SetPriority(int which, uint who, int priority);
}
