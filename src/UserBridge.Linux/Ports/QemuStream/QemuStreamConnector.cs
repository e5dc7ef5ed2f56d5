using Microsoft.Extensions.Logging;
using UserBridge.Core.Ports;
using UserBridge.Core.Switching;
using UserBridge.Core.Workers;
using UserBridge.Linux.Interop;

namespace UserBridge.Linux.Ports.QemuStream;

/// <summary>
/// <c>type = "qemu-stream", role = "connect"</c>: QEMU listens (<c>-netdev stream,server=on,...</c>) and the
/// switch connects, retrying until QEMU is there and again after the connection ends (the VM restarted).
/// QEMU 7.2 clients never reconnect, so this is the role that survives a switch restart.
/// </summary>
public static class QemuStreamConnector
{
    public static PortSupervisor Start(Bridge bridge, string name, string path, PortVlan? vlan, PortGuard guard, ILogger logger, Action<string> announce)
    {
        Span<byte> check = stackalloc byte[UnixSocket.AddressSize];
        UnixSocket.WriteAddress(path, check);
        return new PortSupervisor(bridge, name, "qemu-stream", path, $"QEMU to listen on {path}", vlan, guard, () => TryConnect(name, path, logger), announce);
    }

    private static QemuStreamPort? TryConnect(string name, string path, ILogger logger)
    {
        var fd = UnixSocket.CreateStream(path);
        if (UnixSocket.TryConnect(fd, path, out _))
        {
            return new QemuStreamPort(name, path, fd, logger);
        }

        FileDescriptor.CloseQuietly(fd);
        return null;
    }
}
