using System.Net;
using System.Net.Sockets;
using Tmds.Linux;
using UserBridge.Linux;

namespace UserBridge.Integration.Tests;

/// <summary>Opens sockets inside a network namespace: on a thread of its own that enters the namespace first.</summary>
internal static class NamespaceSockets
{
    private const int CLONE_NEWNET = 0x40000000;

    /// <summary>A packet socket on <paramref name="interfaceName"/> of namespace <paramref name="ns"/>; usable from any thread.</summary>
    public static PacketSocketPort OpenPacket(string ns, string interfaceName) =>
        Run(ns, () => PacketSocketPort.Open(interfaceName), $"cannot open a packet socket on {interfaceName} in {ns}");

    /// <summary>A TCP socket of namespace <paramref name="ns"/>, not yet connected.</summary>
    public static Socket Tcp(string ns) =>
        Run(ns, () => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp), $"cannot open a TCP socket in {ns}");

    /// <summary>A TCP socket of namespace <paramref name="ns"/> listening on <paramref name="endpoint"/> (an address of that namespace).</summary>
    public static Socket Listen(string ns, IPEndPoint endpoint) =>
        Run(ns, () =>
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            socket.Bind(endpoint);
            socket.Listen(1);
            return socket;
        }, $"cannot listen on {endpoint} in {ns}");

    /// <summary>
    /// Runs <paramref name="open"/> on a thread inside namespace <paramref name="ns"/>: the sockets it creates belong to
    /// that namespace for good and may then be used from any thread.
    /// </summary>
    public static T Run<T>(string ns, Func<T> open, string failure)
    {
        T? result = default;
        Exception? error = null;
        var thread = new Thread(() =>
        {
            try
            {
                using var handle = File.OpenHandle($"/run/netns/{ns}");
                Assert.True(LibC.setns((int)handle.DangerousGetHandle(), CLONE_NEWNET) == 0, $"setns into {ns} failed (errno {LibC.errno})");
                result = open();
            }
            catch (Exception ex)
            {
                error = ex;
            }
        });
        thread.Start();
        thread.Join();
        return error is null ? result! : throw new InvalidOperationException(failure, error);
    }
}
