using UserBridge.Core.Ports;

namespace UserBridge.Linux.Ports;

/// <summary>What <see cref="IPortType.Open"/> returns for a port it added to the bridge itself: the port.</summary>
public interface IPortHandle
{
    IPort Port { get; }
}
