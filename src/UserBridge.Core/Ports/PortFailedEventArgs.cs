namespace UserBridge.Core.Ports;

public sealed class PortFailedEventArgs(string portName, Exception exception) : EventArgs
{
    public string PortName { get; } = portName;

    public Exception Exception { get; } = exception;
}
