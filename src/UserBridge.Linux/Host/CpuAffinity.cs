using System.Runtime.InteropServices;
using UserBridge.Linux.Interop;

namespace UserBridge.Linux.Host;

/// <summary>Pins the calling thread to a set of CPUs (<c>sched_setaffinity(0, ...)</c>: this thread only).</summary>
public static unsafe class CpuAffinity
{
    /// <summary>The CPUs a mask can name (one 64-bit word of <c>cpu_set_t</c>).</summary>
    public const int MaxCpus = 64;

    /// <summary>Pins the calling thread to <paramref name="cpus"/>; throws naming the CPUs and the errno text.</summary>
    public static void PinCurrentThread(IReadOnlyCollection<int> cpus)
    {
        ArgumentNullException.ThrowIfNull(cpus);
        ulong mask = 0;
        foreach (var cpu in cpus)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(cpu);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(cpu, MaxCpus);
            mask |= 1UL << cpu;
        }

        if (SchedSetAffinity(0, sizeof(ulong), &mask) != 0)
        {
            throw new InteropException($"sched_setaffinity to CPUs {string.Join(",", cpus)}", Marshal.GetLastPInvokeError());
        }
    }

    [DllImport("libc", EntryPoint = "sched_setaffinity", SetLastError = true)]
    private static extern int SchedSetAffinity(int pid, nuint size, ulong* mask);
}
