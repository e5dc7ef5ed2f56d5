using System.Runtime.InteropServices;

namespace UserBridge.Linux.Interop;

/// <summary>Transparent huge pages for large tables (see the MAC table's memory).</summary>
public static unsafe partial class HugePages
{
    private const int MadviseHugePage = 14;

    /// <summary>
    /// <c>madvise(MADV_HUGEPAGE)</c> on a 2 MiB-aligned range not touched yet; where huge pages are disabled the kernel
    /// refuses, and the table works in small pages.
    /// </summary>
    public static void Advise(nint address, nuint length) => _ = Madvise((void*)address, length, MadviseHugePage);

    [LibraryImport("libc", EntryPoint = "madvise")]
    private static partial int Madvise(void* address, nuint length, int advice);
}
