using UserBridge.Core.Ports;


namespace UserBridge.Linux.Interop;

/// <summary>A system call failed. The message reads "CALL IFNAME: strerror (ENAME) — hint".</summary>
public sealed class InteropException : Exception
{
    public InteropException()
    {
    }

    public InteropException(string message)
        : base(message)
    {
    }

    public InteropException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public InteropException(string call, int errno, string? hint = null)
        : base($"{call}: {Errno.Describe(errno)}{(hint is null ? string.Empty : " — " + hint)}")
    {
        ErrorNumber = errno;
    }

    public int ErrorNumber { get; }

    public PortException ToPortException() => new(Message, this);
}
