namespace UserBridge.Linux.Files;

/// <summary>A socket path that another process listens on: the switch will not take it over.</summary>
public sealed class SocketFileInUseException : InvalidOperationException
{
    public SocketFileInUseException()
    {
    }

    public SocketFileInUseException(string message)
        : base(message)
    {
    }

    public SocketFileInUseException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
