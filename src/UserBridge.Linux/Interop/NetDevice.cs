using Tmds.Linux;

namespace UserBridge.Linux.Interop;

/// <summary>
/// Network interfaces of the caller's namespace: whether one exists (sysfs), its index and bringing it up (ioctls on an
/// AF_INET socket, with <see cref="IfReq"/>), and the name rules the kernel applies.
/// </summary>
public static unsafe class NetDevice
{
    /// <summary>The kernel's limit for interface names, including the terminating zero.</summary>
    internal const int IFNAMSIZ = 16;

    private const int SIOCGIFFLAGS = 0x8913;
    private const int SIOCSIFFLAGS = 0x8914;
    private const int SIOCGIFINDEX = 0x8933;
    private const short IFF_UP = 0x1;

    public static bool Exists(string interfaceName) => Directory.Exists(Path.Combine("/sys/class/net", interfaceName));

    /// <summary>Whether the kernel takes <paramref name="interfaceName"/>: 1 to 15 ASCII characters, no '/', ':' or spaces.</summary>
    public static bool IsValidName(string interfaceName) =>
        interfaceName.Length is > 0 and < IFNAMSIZ && interfaceName is not "." and not ".."
        && !interfaceName.Any(c => c is '/' or ':' || c <= ' ' || c > '~');

    public static void ValidateName(string interfaceName)
    {
        if (!IsValidName(interfaceName))
        {
            throw new ArgumentException($"'{interfaceName}' is not a valid interface name: 1 to {IFNAMSIZ - 1} ASCII characters, no '/', ':' or spaces");
        }
    }

    internal static void Ioctl(int fd, int request, ref IfReq ifreq, string call, string interfaceName, string? hint = null)
    {
        fixed (IfReq* p = &ifreq)
        {
            if (LibC.ioctl(fd, request, p) < 0)
            {
                var errno = LibC.errno;
                throw new InteropException($"{call} {interfaceName}", errno, hint);
            }
        }
    }

    /// <summary>
    /// The index of an interface of the calling thread's network namespace, or null when there is none (sysfs
    /// would answer for the namespace /sys was mounted in, which is wrong on a thread that entered another).
    /// </summary>
    public static int? InterfaceIndex(string interfaceName)
    {
        var socket = LibC.socket(LibC.AF_INET, LibC.SOCK_DGRAM | LibC.SOCK_CLOEXEC, 0);
        if (socket < 0)
        {
            throw new InteropException($"socket(AF_INET) to look up {interfaceName}", LibC.errno);
        }

        try
        {
            var request = IfReq.For(interfaceName);
            return LibC.ioctl(socket, SIOCGIFINDEX, &request) < 0 ? null : request.Index;
        }
        finally
        {
            FileDescriptor.CloseQuietly(socket);
        }
    }

    /// <summary>Sets IFF_UP on an interface of the caller's network namespace.</summary>
    public static void BringUp(string interfaceName)
    {
        var socket = LibC.socket(LibC.AF_INET, LibC.SOCK_DGRAM | LibC.SOCK_CLOEXEC, 0);
        if (socket < 0)
        {
            throw new InteropException($"socket(AF_INET) to configure {interfaceName}", LibC.errno);
        }

        try
        {
            var request = IfReq.For(interfaceName);
            Ioctl(socket, SIOCGIFFLAGS, ref request, "SIOCGIFFLAGS", interfaceName);
            if ((request.Flags & IFF_UP) == 0)
            {
                request.Flags |= IFF_UP;
                Ioctl(socket, SIOCSIFFLAGS, ref request, "SIOCSIFFLAGS", interfaceName, "run as root or grant CAP_NET_ADMIN");
            }
        }
        finally
        {
            FileDescriptor.CloseQuietly(socket);
        }
    }
}
