using System.Text;
using Tmds.Linux;

namespace UserBridge.Linux.Interop;

/// <summary>Unix-domain sockets on raw fds (non-blocking, close-on-exec): what QEMU's stream and dgram netdevs talk.</summary>
internal static unsafe class UnixSocket
{
    /// <summary>sizeof(struct sockaddr_un): a 2-byte family and a 108-byte path.</summary>
    public const int AddressSize = 110;

    public const int MaxPathBytes = 107;

    private const int SOCK_STREAM = 1;
    private const int SOCK_DGRAM = 2;
    private const int SOCK_NONBLOCK = 0x800;
    private const int SOCK_CLOEXEC = 0x80000;
    private const ushort AF_UNIX = 1;

    public static int CreateStream(string path) => Create(SOCK_STREAM, path);

    public static int CreateDatagram(string path) => Create(SOCK_DGRAM, path);

    /// <summary>Writes a sockaddr_un for <paramref name="path"/> into <paramref name="address"/> and returns its length.</summary>
    public static int WriteAddress(string path, Span<byte> address)
    {
        var bytes = Encoding.UTF8.GetBytes(path);
        if (bytes.Length is 0 or > MaxPathBytes)
        {
            throw new ArgumentException($"socket path '{path}' is {bytes.Length} bytes; a unix socket path has 1 to {MaxPathBytes}");
        }

        address.Clear();
        address[0] = (byte)AF_UNIX;
        bytes.CopyTo(address[2..]);
        return 2 + bytes.Length + 1;
    }

    public static void Bind(int fd, string path)
    {
        Span<byte> address = stackalloc byte[AddressSize];
        var length = WriteAddress(path, address);
        fixed (byte* p = address)
        {
            if (LibC.bind(fd, (sockaddr*)p, length) < 0)
            {
                throw new InteropException($"bind {path}", LibC.errno, "is another switch using this path? remove the file or choose another path");
            }
        }
    }

    public static void Listen(int fd, string path)
    {
        if (LibC.listen(fd, 16) < 0)
        {
            throw new InteropException($"listen {path}", LibC.errno);
        }
    }

    /// <summary>Connects; returns false (errno in <paramref name="errno"/>) when nobody listens yet.</summary>
    public static bool TryConnect(int fd, string path, out int errno)
    {
        Span<byte> address = stackalloc byte[AddressSize];
        var length = WriteAddress(path, address);
        fixed (byte* p = address)
        {
            if (LibC.connect(fd, (sockaddr*)p, length) == 0)
            {
                errno = 0;
                return true;
            }
        }

        errno = LibC.errno;
        return false;
    }

    /// <summary>Accepts a connection as a non-blocking fd, or returns -1 when none is pending.</summary>
    public static int Accept(int listenerFd, string path)
    {
        var fd = LibC.accept4(listenerFd, null, null, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0)
        {
            return fd;
        }

        var errno = LibC.errno;
        return errno is Errno.EAGAIN or Errno.EINTR or Errno.ECONNABORTED ? -1 : throw new InteropException($"accept {path}", errno);
    }

    private static int Create(int type, string path)
    {
        var fd = LibC.socket(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        return fd >= 0 ? fd : throw new InteropException($"socket(AF_UNIX) for {path}", LibC.errno);
    }
}
