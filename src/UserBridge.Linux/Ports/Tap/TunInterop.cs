using Tmds.Linux;
using UserBridge.Linux.Interop;

namespace UserBridge.Linux.Ports.Tap;

/// <summary>
/// What Tmds.LibC does not have: the TUN/TAP ioctl numbers and flags of <c>linux/if_tun.h</c>. Calls go through
/// Tmds.LibC; errors become <see cref="InteropException"/>s that name the call, the interface and the errno text.
/// </summary>
internal static unsafe class TunInterop
{
    public const int TUNSETIFF = 0x400454ca;
    public const int TUNSETPERSIST = 0x400454cb;
    public const int TUNGETIFF = unchecked((int)0x800454d2);

    public const int TUNSETOFFLOAD = 0x400454d0;
    public const int TUNSETVNETHDRSZ = 0x400454d8;

    public const short IFF_TAP = 0x0002;
    public const short IFF_NO_PI = 0x1000;
    public const short IFF_VNET_HDR = 0x4000;
    public const short IFF_MULTI_QUEUE = 0x0100;
    public const short IFF_PERSIST = 0x0800;

    /// <summary>TUNSETOFFLOAD bits: what the switch accepts from the kernel (checksum left to do, TSO, USO).</summary>
    public const uint TUN_F_CSUM = 0x01;
    public const uint TUN_F_TSO4 = 0x02;
    public const uint TUN_F_TSO6 = 0x04;
    public const uint TUN_F_TSO_ECN = 0x08;
    public const uint TUN_F_USO4 = 0x20;
    public const uint TUN_F_USO6 = 0x40;

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

    /// <summary>An ioctl whose argument is a value passed by pointer (TUNSETOFFLOAD, TUNSETVNETHDRSZ); the errno on failure, else 0.</summary>
    public static int IoctlValue(int fd, int request, int value) =>
        LibC.ioctl(fd, request, (void*)(nint)value) < 0 ? LibC.errno : 0;

    /// <summary>An ioctl whose argument is a pointer to an int (TUNSETVNETHDRSZ); the errno on failure, else 0.</summary>
    public static int IoctlPointer(int fd, int request, int value) =>
        LibC.ioctl(fd, request, &value) < 0 ? LibC.errno : 0;
}
