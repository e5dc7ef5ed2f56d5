using UserBridge.Linux.Interop;

namespace UserBridge.Linux.Ports.VhostUser;

/// <summary>
/// What the frontend has told the switch about one virtqueue so far (<c>SET_VRING_NUM/ADDR/BASE/KICK/CALL/ENABLE</c>),
/// and the queue built from it while it runs. The protocol thread alone reads and writes it.
/// </summary>
internal sealed class VringSetup
{
    public int Size { get; set; }

    public ulong Descriptors { get; set; }

    public ulong Avail { get; set; }

    public ulong Used { get; set; }

    public bool HasAddresses { get; set; }

    /// <summary>The next available entry: set by <c>SET_VRING_BASE</c>, kept from the queue when it stops.</summary>
    public ushort Base { get; set; }

    public int KickFd { get; private set; } = -1;

    public int CallFd { get; private set; } = -1;

    public int ErrFd { get; private set; } = -1;

    /// <summary>Started by <c>SET_VRING_KICK</c>, stopped by <c>GET_VRING_BASE</c>.</summary>
    public bool Started { get; set; }

    /// <summary><c>SET_VRING_ENABLE</c> (enabled at start when protocol features were not negotiated).</summary>
    public bool Enabled { get; set; }

    /// <summary>The queue while the port runs it.</summary>
    public SplitQueue? Queue { get; set; }

    public bool Ready => Started && Enabled && Size > 0 && HasAddresses && KickFd >= 0;

    public void SetKick(int fd) => KickFd = Replace(KickFd, fd);

    public void SetCall(int fd) => CallFd = Replace(CallFd, fd);

    public void SetErr(int fd) => ErrFd = Replace(ErrFd, fd);

    /// <summary>Forgets everything (<c>RESET_OWNER</c>, a new connection): closes the eventfds.</summary>
    public void Reset()
    {
        SetKick(-1);
        SetCall(-1);
        SetErr(-1);
        Size = 0;
        HasAddresses = false;
        Base = 0;
        Started = false;
        Enabled = false;
        Queue = null;
    }

    private static int Replace(int old, int fd)
    {
        if (old >= 0)
        {
            FileDescriptor.CloseQuietly(old);
        }

        return fd;
    }
}
