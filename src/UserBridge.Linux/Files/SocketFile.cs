using Tmds.Linux;
using UserBridge.Linux.Host;
using UserBridge.Linux.Interop;

namespace UserBridge.Linux.Files;

/// <summary>
/// The socket files the switch creates (QEMU ports, the control socket): mode 0600 by default, widened by the config;
/// a path is taken only when nothing is there or a stale socket is (one no process listens on), and a file is removed
/// at the end only if it is still the socket the switch bound. Any other file at a configured path (a typo, a victim's
/// document) is refused, never replaced.
/// </summary>
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

    /// <summary>
    /// Makes <paramref name="path"/> free to bind: nothing to do when nothing is there; a socket no process listens on
    /// (left by a switch that crashed) is removed. Anything else throws <see cref="SocketFileInUseException"/> (a socket
    /// that answers) or <see cref="ArgumentException"/> (a file that is not a socket), naming the path and the fix.
    /// </summary>
    public static void RemoveStale(string path)
    {
        if (Status(path) is not { } status)
        {
            return;
        }

        if ((status.st_mode & LibC.S_IFMT) != LibC.S_IFSOCK)
        {
            throw new ArgumentException($"{path} exists and is {Kind(status.st_mode)}, not a socket; the switch replaces only a stale socket: choose another path, or remove the file yourself if it is not needed");
        }

        switch (Probe(path))
        {
            case SocketState.Stale:
                Unlink(path);
                return;
            case SocketState.Live:
                throw new SocketFileInUseException($"{path}: another process listens on this socket; stop it or choose another path");
            default:
                throw new ArgumentException($"{path}: cannot tell whether this socket is in use (connecting to it is not permitted); remove it if it is stale, or choose another path");
        }
    }

    /// <summary>
    /// Binds <paramref name="fd"/> to <paramref name="path"/> (a stale socket there is replaced, any other file refused),
    /// gives the socket file <paramref name="mode"/> and <paramref name="group"/>, and returns it as the file the switch created.
    /// </summary>
    public static CreatedFile Bind(int fd, string path, UnixFileMode mode, string? group)
    {
        RemoveStale(path);
        UnixSocket.Bind(fd, path);
        var bound = Identify(path);
        SetAccess(path, mode, group);
        return bound;
    }

    /// <summary>The identity of the file just created (a socket just bound) at <paramref name="path"/>, for <see cref="RemoveIfSame"/>.</summary>
    public static CreatedFile Identify(string path) =>
        Status(path) is { } status
            ? new CreatedFile(path, (ulong)status.st_dev, (ulong)status.st_ino)
            : throw new InteropException($"stat {path}", Errno.ENOENT);

    /// <summary>
    /// Removes <paramref name="file"/> if its path still names that file (not one another process created since); returns
    /// false, without throwing, when it is gone, replaced, or may not be removed (the switch dropped the privileges the
    /// directory needs: <see cref="ExitJanitor"/> removes it when the switch exits).
    /// </summary>
    public static bool RemoveIfSame(CreatedFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        stat? current;
        try
        {
            current = Status(file.Path);
        }
        catch (InteropException)
        {
            // Not even visible to the switch any more (a directory it may not search as its user).
            return false;
        }

        if (current is not { } status || (ulong)status.st_dev != file.Device || (ulong)status.st_ino != file.Inode)
        {
            return false;
        }

        var bytes = NativePath.Bytes(file.Path);
        fixed (byte* p = bytes)
        {
            return LibC.unlink(p) == 0;
        }
    }

    /// <summary>lstat: the file's status, or null when nothing is there.</summary>
    private static stat? Status(string path)
    {
        var bytes = NativePath.Bytes(path);
        stat status;
        fixed (byte* p = bytes)
        {
            if (LibC.lstat(p, &status) == 0)
            {
                return status;
            }
        }

        var errno = LibC.errno;
        return errno is Errno.ENOENT ? null : throw new InteropException($"lstat {path}", errno);
    }

    /// <summary>Whether a process listens on the socket: a stream connect answers for a stream socket, a datagram one for a bound datagram socket.</summary>
    private static SocketState Probe(string path)
    {
        foreach (var datagram in (ReadOnlySpan<bool>)[false, true])
        {
            var fd = datagram ? UnixSocket.CreateDatagram(path) : UnixSocket.CreateStream(path);
            try
            {
                if (UnixSocket.TryConnect(fd, path, out var errno) || errno is Errno.EAGAIN or Errno.EINPROGRESS)
                {
                    return SocketState.Live;
                }

                if (errno == Errno.ECONNREFUSED)
                {
                    return SocketState.Stale;
                }

                if (errno != LibC.EPROTOTYPE)
                {
                    return SocketState.Unknown;
                }
            }
            finally
            {
                FileDescriptor.CloseQuietly(fd);
            }
        }

        return SocketState.Unknown;
    }

    private static void Unlink(string path)
    {
        var bytes = NativePath.Bytes(path);
        fixed (byte* p = bytes)
        {
            if (LibC.unlink(p) < 0 && LibC.errno is var errno && errno != Errno.ENOENT)
            {
                throw new InteropException($"unlink stale socket {path}", errno);
            }
        }
    }

    private static string Kind(mode_t mode) => (mode & LibC.S_IFMT) switch
    {
        var type when type == LibC.S_IFREG => "a regular file",
        var type when type == LibC.S_IFDIR => "a directory",
        var type when type == LibC.S_IFLNK => "a symbolic link",
        var type when type == LibC.S_IFIFO => "a FIFO",
        var type when type == LibC.S_IFCHR || type == LibC.S_IFBLK => "a device",
        _ => "some other kind of file",
    };

    private enum SocketState
    {
        Stale,
        Live,
        Unknown,
    }
}
