using System.Runtime.InteropServices;
using System.Text;
using Tmds.Linux;

namespace UserBridge.Linux;

/// <summary>
/// What Tmds.LibC does not have: the TUN/TAP ioctl numbers and flags of <c>linux/if_tun.h</c>, and
/// <c>struct ifreq</c>. Calls go through Tmds.LibC; errors become <see cref="InteropException"/>s that name
/// the call, the interface and the errno text.
/// </summary>
internal static unsafe class TunInterop
{
    public const int TUNSETIFF = 0x400454ca;
    public const int TUNSETPERSIST = 0x400454cb;
    public const int TUNGETIFF = unchecked((int)0x800454d2);
    public const int SIOCGIFFLAGS = 0x8913;
    public const int SIOCSIFFLAGS = 0x8914;
    public const int SIOCGIFINDEX = 0x8933;

    public const int TUNSETOFFLOAD = 0x400454d0;
    public const int TUNSETVNETHDRSZ = 0x400454d8;

    public const short IFF_TAP = 0x0002;
    public const short IFF_NO_PI = 0x1000;
    public const short IFF_VNET_HDR = 0x4000;
    public const short IFF_MULTI_QUEUE = 0x0100;
    public const short IFF_PERSIST = 0x0800;
    public const short IFF_UP = 0x1;

    /// <summary>TUNSETOFFLOAD bits: what the switch accepts from the kernel (checksum left to do, TSO, USO).</summary>
    public const uint TUN_F_CSUM = 0x01;
    public const uint TUN_F_TSO4 = 0x02;
    public const uint TUN_F_TSO6 = 0x04;
    public const uint TUN_F_TSO_ECN = 0x08;
    public const uint TUN_F_USO4 = 0x20;
    public const uint TUN_F_USO6 = 0x40;

    /// <summary>The kernel's limit for interface names, including the terminating zero.</summary>
    public const int IFNAMSIZ = 16;

    public const int IfReqSize = 40;

    /// <summary><c>struct ifreq</c>: the name, then a 24-byte union whose first member here is the flags.</summary>
    [StructLayout(LayoutKind.Explicit, Size = IfReqSize)]
    public struct IfReq
    {
        [FieldOffset(0)]
        public fixed byte Name[IFNAMSIZ];

        [FieldOffset(IFNAMSIZ)]
        public short Flags;

        [FieldOffset(IFNAMSIZ)]
        public int Index;

        public static IfReq For(string interfaceName)
        {
            ValidateName(interfaceName);
            var request = default(IfReq);
            var bytes = Encoding.ASCII.GetBytes(interfaceName);
            for (var i = 0; i < bytes.Length; i++)
            {
                request.Name[i] = bytes[i];
            }

            return request;
        }
    }

    public static void ValidateName(string interfaceName)
    {
        if (interfaceName.Length is 0 or >= IFNAMSIZ || interfaceName.Any(c => c is '/' or ':' or ' ' or '\0' || char.IsWhiteSpace(c) || c > 127) || interfaceName is "." or "..")
        {
            throw new ArgumentException($"'{interfaceName}' is not a valid interface name: 1 to {IFNAMSIZ - 1} ASCII characters, no '/', ':' or spaces");
        }
    }

    public static int OpenTunDevice(string interfaceName)
    {
        var path = "/dev/net/tun\0"u8;
        fixed (byte* p = path)
        {
            var fd = LibC.open(p, LibC.O_RDWR | LibC.O_NONBLOCK | LibC.O_CLOEXEC, 0);
            if (fd < 0)
            {
                var errno = LibC.errno;
                throw new InteropException($"open /dev/net/tun for {interfaceName}", errno, errno is Errno.EACCES or Errno.EPERM ? "run as root or grant CAP_NET_ADMIN" : null);
            }

            return fd;
        }
    }

    public static void Ioctl(int fd, int request, ref IfReq ifreq, string call, string interfaceName, string? hint = null)
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

    /// <summary>An ioctl whose argument is a value passed by pointer (TUNSETOFFLOAD, TUNSETVNETHDRSZ); the errno on failure, else 0.</summary>
    public static int IoctlValue(int fd, int request, int value) =>
        LibC.ioctl(fd, request, (void*)(nint)value) < 0 ? LibC.errno : 0;

    /// <summary>An ioctl whose argument is a pointer to an int (TUNSETVNETHDRSZ); the errno on failure, else 0.</summary>
    public static int IoctlPointer(int fd, int request, int value) =>
        LibC.ioctl(fd, request, &value) < 0 ? LibC.errno : 0;

    /// <summary><c>writev(2)</c>, which Tmds.LibC lacks: a header and a frame in one system call, no copy.</summary>
    [DllImport("libc", EntryPoint = "writev", SetLastError = true)]
    public static extern nint WriteV(int fd, PacketInterop.IoVec* iov, int iovcnt);

    /// <summary>Closes an fd of ours. close() errors are not actionable here: the fd is released either way.</summary>
    public static void CloseQuietly(int fd) => _ = LibC.close(fd);

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
            CloseQuietly(socket);
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
            CloseQuietly(socket);
        }
    }
}
