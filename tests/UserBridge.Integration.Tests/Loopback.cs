using System.Net;
using System.Net.Sockets;

namespace UserBridge.Integration.Tests;

internal static class Loopback
{
    /// <summary>A TCP port on 127.0.0.1 that was free a moment ago, for a listener the test starts next.</summary>
    public static int FreeTcpPort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }
}
