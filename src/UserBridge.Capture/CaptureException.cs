namespace UserBridge.Capture;

/// <summary>A capture that cannot start: a bad filter, a file that cannot be written, libpcap missing.</summary>
public sealed class CaptureException : Exception
{
    public CaptureException()
    {
    }

    public CaptureException(string message)
        : base(message)
    {
    }

    public CaptureException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
