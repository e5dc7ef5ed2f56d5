namespace UserBridge.Control.Management;

/// <summary>A management request failed; the message is what the client shows.</summary>
public sealed class ManagementException : Exception
{
    public ManagementException()
    {
    }

    public ManagementException(string message)
        : base(message)
    {
    }

    public ManagementException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
