using Tmds.Linux;

namespace UserBridge.Linux.Interop;

/// <summary>Puts an fd that came from elsewhere (an eventfd a frontend sent) in non-blocking mode.</summary>
public static class NonBlocking
{
    public static void Set(int fd)
    {
        var flags = LibC.fcntl(fd, LibC.F_GETFL, 0);
        if (flags < 0 || LibC.fcntl(fd, LibC.F_SETFL, flags | LibC.O_NONBLOCK) < 0)
        {
            throw new InteropException($"fcntl(O_NONBLOCK) on fd {fd}", LibC.errno);
        }
    }
}
