using UserBridge.Core.Switching;

namespace UserBridge.Core.Ports;

/// <summary>A port failed: the message names the operation, the interface and the system's error text.</summary>
public sealed class PortException : Exception
{
    public PortException()
    {
    }

    public PortException(string message)
        : base(message)
    {
    }

    public PortException(string message, PortFailure failure)
        : base(message)
    {
        Failure = failure;
    }

    public PortException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>What kind of failure this is, for <see cref="Bridge.Failures"/>.</summary>
    public PortFailure Failure { get; }
}
