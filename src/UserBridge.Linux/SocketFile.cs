using Tmds.Linux;

namespace UserBridge.Linux;

/// <summary>Access to the socket files the switch creates: mode 0600 by default, widened by the config.</summary>
public static unsafe class SocketFile
{
    public const UnixFileMode DefaultMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    public static void SetAccess(string path, UnixFileMode mode, string? group)
    {
        File.SetUnixFileMode(path, mode);
        if (group is null)
        {
            return;
        }

        var gid = GroupId(group) ?? throw new ArgumentException($"group '{group}' does not exist (see /etc/group)");
        var bytes = NativePath.Bytes(path);
        fixed (byte* p = bytes)
        {
            if (LibC.chown(p, uint.MaxValue, gid) < 0)
            {
                throw new InteropException($"chown {path} to group {group}", LibC.errno);
            }
        }
    }

    /// <summary>Looks a group name up in /etc/group (numeric ids are taken as they are).</summary>
    public static uint? GroupId(string group)
    {
        if (uint.TryParse(group, out var numeric))
        {
            return numeric;
        }

        foreach (var line in File.ReadLines("/etc/group"))
        {
            var fields = line.Split(':');
            if (fields.Length >= 3 && fields[0] == group && uint.TryParse(fields[2], out var gid))
            {
                return gid;
            }
        }

        return null;
    }
}
