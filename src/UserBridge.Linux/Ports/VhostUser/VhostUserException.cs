namespace UserBridge.Linux.Ports.VhostUser;

/// <summary>A frontend broke the vhost-user protocol (a bad message, a ring outside its memory): its connection ends.</summary>
public sealed class VhostUserException : Exception
{
    public VhostUserException()
    {
    }

    public VhostUserException(string message)
        : base(message)
    {
    }

    public VhostUserException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
