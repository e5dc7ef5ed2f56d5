using System.Runtime.InteropServices;
using UserBridge.Linux.Interop;

namespace UserBridge.Linux.Host;

/// <summary>The account the switch runs as once its ports are open (<c>user</c>, <c>group</c> in the config).</summary>
public sealed record Account(string User, int Uid, int Gid, string? Group);

/// <summary>Linux capabilities the switch may keep after dropping root.</summary>
[Flags]
public enum Capabilities : long
{
    None = 0,

    /// <summary>
    /// CAP_DAC_OVERRIDE: open <c>/dev/net/tun</c> when its mode does not let the user (0600 root here; udev usually makes
    /// it 0666, and then it is not kept).
    /// </summary>
    DacOverride = 1L << 1,

    /// <summary>CAP_NET_ADMIN: create TAP devices (and set their offloads) at runtime.</summary>
    NetAdmin = 1L << 12,

    /// <summary>CAP_NET_RAW: open packet sockets on existing interfaces at runtime.</summary>
    NetRaw = 1L << 13,
}

/// <summary>
/// Dropping root after the ports are open: the process becomes <see cref="Account"/>, and only the
/// <see cref="CapabilityBroker"/> thread keeps the capabilities runtime changes need.
/// </summary>
/// <remarks>
/// Linux keeps capabilities per thread, and a .NET process has many threads (the runtime's, the thread pool's) that the
/// switch does not control. glibc applies <c>setresuid</c> to every thread of the process; each thread then loses all its
/// capabilities, except one that asked to keep them (<c>PR_SET_KEEPCAPS</c>) beforehand: the broker. It narrows its
/// permitted set to what the switch still needs, and every operation that needs a capability (opening a TAP or a packet
/// socket) runs on it. Threads created later inherit the creating thread's (empty) set.
/// </remarks>
public static partial class Privileges
{
    private const int PrSetKeepCaps = 8;
    private const uint CapabilityVersion3 = 0x20080522;

    /// <summary>True when the effective user is root.</summary>
    public static bool IsRoot => GetEuid() == 0;

    /// <summary>Looks up <paramref name="user"/> and <paramref name="group"/> (null: the user's own group).</summary>
    public static Account Resolve(string user, string? group)
    {
        ArgumentException.ThrowIfNullOrEmpty(user);
        var (uid, userGid) = LookUpUser(user) ?? throw new ArgumentException($"user \"{user}\" does not exist on this machine (getent passwd {user})");
        var gid = userGid;
        if (group is not null)
        {
            gid = LookUpGroup(group) ?? throw new ArgumentException($"group \"{group}\" does not exist on this machine (getent group {group})");
        }

        return new Account(user, uid, gid, group);
    }

    /// <summary>
    /// Becomes <paramref name="account"/> (its group as the only supplementary group too), keeping <paramref name="keep"/>
    /// on a <see cref="CapabilityBroker"/> when it is not <see cref="Capabilities.None"/>. Needs root; throws with the
    /// errno text when a step fails, and the process must not go on then.
    /// </summary>
    public static CapabilityBroker? DropTo(Account account, Capabilities keep)
    {
        ArgumentNullException.ThrowIfNull(account);
        var broker = keep == Capabilities.None ? null : new CapabilityBroker();
        try
        {
            broker?.Invoke(static () => Check(Prctl(PrSetKeepCaps, 1, 0, 0, 0), "prctl(PR_SET_KEEPCAPS)"));
            uint[] groups = [(uint)account.Gid];
            Check(SetGroups(1, groups), "setgroups");
            Check(SetResGid((uint)account.Gid, (uint)account.Gid, (uint)account.Gid), $"setresgid {account.Gid}");
            Check(SetResUid((uint)account.Uid, (uint)account.Uid, (uint)account.Uid), $"setresuid {account.Uid} ({account.User})");
            broker?.Invoke(() => SetOwnCapabilities(keep));
            CapabilityBroker.Current = broker;
            return broker;
        }
        catch
        {
            broker?.Dispose();
            throw;
        }
    }

    /// <summary>Whether <paramref name="account"/> may open <paramref name="path"/> for reading and writing by its mode and owner.</summary>
    public static bool MayReadWrite(string path, Account account)
    {
        ArgumentNullException.ThrowIfNull(account);
        var mode = File.GetUnixFileMode(path);
        var (owner, group) = OwnerOf(path);
        return (mode & (UnixFileMode.OtherRead | UnixFileMode.OtherWrite)) == (UnixFileMode.OtherRead | UnixFileMode.OtherWrite)
            || (group == account.Gid && (mode & (UnixFileMode.GroupRead | UnixFileMode.GroupWrite)) == (UnixFileMode.GroupRead | UnixFileMode.GroupWrite))
            || (owner == account.Uid && (mode & (UnixFileMode.UserRead | UnixFileMode.UserWrite)) == (UnixFileMode.UserRead | UnixFileMode.UserWrite));
    }

    /// <summary>Gives <paramref name="path"/> to <paramref name="account"/>'s user and group.</summary>
    public static void Chown(string path, Account account)
    {
        ArgumentNullException.ThrowIfNull(account);
        if (ChownPath(path, (uint)account.Uid, (uint)account.Gid) != 0)
        {
            throw new InteropException($"chown {path} to {account.User}", Marshal.GetLastPInvokeError());
        }
    }

    /// <summary>
    /// Whether a management client with <paramref name="uid"/> and primary <paramref name="gid"/> may use the switch: root,
    /// the switch's own user, or a member of <paramref name="account"/>'s configured group.
    /// </summary>
    public static bool MayManage(int uid, int gid, Account? account)
    {
        if (uid == 0 || uid == (int)GetEuid() || (account is not null && uid == account.Uid))
        {
            return true;
        }

        return account?.Group is not null && (gid == account.Gid || IsMember(uid, gid, account.Gid));
    }

    private static (int Uid, int Gid) OwnerOf(string path)
    {
        var status = default(Tmds.Linux.stat);
        var bytes = System.Text.Encoding.UTF8.GetBytes(path + "\0");
        unsafe
        {
            fixed (byte* name = bytes)
            {
                if (Tmds.Linux.LibC.stat(name, &status) != 0)
                {
                    throw new InteropException($"stat {path}", Tmds.Linux.LibC.errno);
                }
            }
        }

        return ((int)(uint)status.st_uid, (int)(uint)status.st_gid);
    }

    private static void SetOwnCapabilities(Capabilities keep)
    {
        var header = new CapHeader { Version = CapabilityVersion3, Pid = 0 };
        var data = new CapData[2];
        data[0].Effective = data[0].Permitted = (uint)((long)keep & 0xFFFF_FFFF);
        data[1].Effective = data[1].Permitted = (uint)((long)keep >> 32);
        Check(CapSet(ref header, data), "capset");
    }

    /// <summary>Whether the user <paramref name="uid"/> (primary group <paramref name="primaryGid"/>) is listed as a member of <paramref name="gid"/>.</summary>
    private static bool IsMember(int uid, int primaryGid, int gid)
    {
        if (LookUpName(uid) is not { } name)
        {
            return false;
        }

        // getgrouplist puts its group argument in the list: pass the user's own primary group, not the one asked about.
        var count = 64;
        var groups = new uint[count];
        if (GetGroupList(name, (uint)primaryGid, groups, ref count) < 0)
        {
            groups = new uint[count];
            if (GetGroupList(name, (uint)primaryGid, groups, ref count) < 0)
            {
                return false;
            }
        }

        return groups.Take(count).Contains((uint)gid);
    }

    private static (int Uid, int Gid)? LookUpUser(string user)
    {
        var buffer = new byte[16384];
        var entry = default(Passwd);
        return GetPwNam(user, ref entry, buffer, (nuint)buffer.Length, out var found) == 0 && found != IntPtr.Zero
            ? ((int)entry.Uid, (int)entry.Gid)
            : null;
    }

    private static string? LookUpName(int uid)
    {
        var buffer = new byte[16384];
        var entry = default(Passwd);
        return GetPwUid((uint)uid, ref entry, buffer, (nuint)buffer.Length, out var found) == 0 && found != IntPtr.Zero
            ? Marshal.PtrToStringUTF8(entry.Name)
            : null;
    }

    private static int? LookUpGroup(string group)
    {
        var buffer = new byte[16384];
        var entry = default(Group);
        return GetGrNam(group, ref entry, buffer, (nuint)buffer.Length, out var found) == 0 && found != IntPtr.Zero
            ? (int)entry.Gid
            : null;
    }

    private static void Check(int result, string call)
    {
        if (result != 0)
        {
            throw new InteropException(call, Marshal.GetLastPInvokeError());
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Passwd
    {
        public IntPtr Name;
        public IntPtr Password;
        public uint Uid;
        public uint Gid;
        public IntPtr Gecos;
        public IntPtr Directory;
        public IntPtr Shell;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Group
    {
        public IntPtr Name;
        public IntPtr Password;
        public uint Gid;
        public IntPtr Members;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct CapHeader
    {
        public uint Version;
        public int Pid;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct CapData
    {
        public uint Effective;
        public uint Permitted;
        public uint Inheritable;
    }

    [LibraryImport("libc", EntryPoint = "getpwnam_r", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int GetPwNam(string name, ref Passwd entry, byte[] buffer, nuint length, out IntPtr result);

    [LibraryImport("libc", EntryPoint = "getpwuid_r")]
    private static partial int GetPwUid(uint uid, ref Passwd entry, byte[] buffer, nuint length, out IntPtr result);

    [LibraryImport("libc", EntryPoint = "getgrnam_r", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int GetGrNam(string name, ref Group entry, byte[] buffer, nuint length, out IntPtr result);

    [LibraryImport("libc", EntryPoint = "getgrouplist", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int GetGroupList(string user, uint group, [In, Out] uint[] groups, ref int count);

    [LibraryImport("libc", EntryPoint = "prctl", SetLastError = true)]
    private static partial int Prctl(int option, ulong arg2, ulong arg3, ulong arg4, ulong arg5);

    [LibraryImport("libc", EntryPoint = "setgroups", SetLastError = true)]
    private static partial int SetGroups(nuint size, uint[] groups);

    [LibraryImport("libc", EntryPoint = "setresgid", SetLastError = true)]
    private static partial int SetResGid(uint real, uint effective, uint saved);

    [LibraryImport("libc", EntryPoint = "setresuid", SetLastError = true)]
    private static partial int SetResUid(uint real, uint effective, uint saved);

    [LibraryImport("libc", EntryPoint = "capset", SetLastError = true)]
    private static partial int CapSet(ref CapHeader header, [In] CapData[] data);

    [LibraryImport("libc", EntryPoint = "chown", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int ChownPath(string path, uint uid, uint gid);

    [LibraryImport("libc", EntryPoint = "geteuid")]
    private static partial uint GetEuid();
}
