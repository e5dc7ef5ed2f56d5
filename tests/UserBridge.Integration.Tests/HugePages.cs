using System.Globalization;

namespace UserBridge.Integration.Tests;

/// <summary>
/// 2 MiB huge pages for a DPDK process the test starts: at least the pages asked for are free, from the kernel's pool
/// (<c>nr_hugepages</c> raised) and a <c>hugetlbfs</c> mount on <c>/dev/hugepages</c>; Dispose puts the pool's size
/// back and unmounts what it mounted.
/// </summary>
internal sealed class HugePages : IDisposable
{
    private const string Pool = "/sys/kernel/mm/hugepages/hugepages-2048kB/";
    private const string MountPoint = "/dev/hugepages";

    private readonly int _before;
    private readonly bool _mounted;

    private HugePages(int before, bool mounted)
    {
        _before = before;
        _mounted = mounted;
    }

    public static HugePages Reserve(int pages)
    {
        var before = Read("nr_hugepages");
        var missing = pages - Read("free_hugepages");
        if (missing > 0)
        {
            File.WriteAllText(Pool + "nr_hugepages", (before + missing).ToString(CultureInfo.InvariantCulture));
            Assert.True(Read("free_hugepages") >= pages, $"the kernel gave {Read("free_hugepages")} free 2 MiB huge pages of the {pages} asked for");
        }

        var mounted = false;
        if (Shell.Run("mountpoint", "-q", MountPoint).ExitCode != 0)
        {
            Directory.CreateDirectory(MountPoint);
            Shell.Check("mount", "-t", "hugetlbfs", "nodev", MountPoint);
            mounted = true;
        }

        return new HugePages(before, mounted);
    }

    public void Dispose()
    {
        if (_mounted)
        {
            Shell.Run("umount", MountPoint);
        }

        File.WriteAllText(Pool + "nr_hugepages", _before.ToString(CultureInfo.InvariantCulture));
    }

    private static int Read(string name) => int.Parse(File.ReadAllText(Pool + name).Trim(), CultureInfo.InvariantCulture);
}
