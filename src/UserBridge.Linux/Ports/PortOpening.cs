using Microsoft.Extensions.Logging;
using UserBridge.Core.Ports;
using UserBridge.Core.Switching;

namespace UserBridge.Linux.Ports;

/// <summary>Everything a port type needs to open a port: the bridge, the port's name and common settings, and where to say so.</summary>
/// <param name="Bridge">The bridge the port (or the ports an endpoint makes) joins.</param>
/// <param name="Name">The port's name.</param>
/// <param name="Vlan">Its 802.1Q settings; null: none.</param>
/// <param name="Guard">Its guards.</param>
/// <param name="Logger">Where its errors go.</param>
/// <param name="Announce">Its start-up line, and the lines of ports coming and going.</param>
public sealed record PortOpening(Bridge Bridge, string Name, PortVlan? Vlan, PortGuard Guard, ILogger Logger, Action<string> Announce)
{
    /// <summary>
    /// Adds <paramref name="port"/> to the bridge with the opening's settings and returns what removes it again; the
    /// port is disposed if the bridge refuses it.
    /// </summary>
    public IDisposable Join(IPort port)
    {
        ArgumentNullException.ThrowIfNull(port);
        try
        {
            Bridge.AddPort(port, isUp: true, Vlan, Guard);
        }
        catch
        {
            port.Dispose();
            throw;
        }

        return new JoinedPort(Bridge, port);
    }

    /// <summary>A port opened and added to the bridge directly: disposing it removes it.</summary>
    private sealed class JoinedPort(Bridge bridge, IPort port) : IDisposable, IPortHandle
    {
        public IPort Port => port;

        public void Dispose() => bridge.RemovePort(port.Name);
    }
}
