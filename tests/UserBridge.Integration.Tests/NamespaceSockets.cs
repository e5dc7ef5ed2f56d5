using System.Diagnostics;
using System.Net.Sockets;
using System.Net;
using System.Security.Cryptography;
using UserBridge.Linux.Host;
using UserBridge.Linux.Ports.Packet;

namespace UserBridge.Integration.Tests;

/// <summary>Opens sockets inside a network namespace: on a thread of its own that enters the namespace first.</summary>
internal static class NamespaceSockets
{
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

    /// <summary>Waits until a TCP socket of namespace <paramref name="ns"/> listens on <paramref name="port"/> (a server another process started).</summary>
    public static void WaitForListener(string ns, int port, TimeSpan deadline) =>
        Waiting.Until(
            () => Shell.Run("ip", "netns", "exec", ns, "ss", "-Hltn", $"sport = :{port}").Output.Trim().Length > 0,
            $"a TCP listener on port {port} in {ns}",
            deadline);

    /// <summary>
    /// Sends <paramref name="bytes"/> random bytes over TCP from host <paramref name="from"/> of <paramref name="network"/> to
    /// host <paramref name="to"/>; returns the SHA-256 of what was sent and of what arrived.
    /// </summary>
    public static (byte[] Sent, byte[] Received) Transfer(TestNetwork network, int from, int to, int port, int bytes)
    {
        var address = IPAddress.Parse(TestNetwork.Address(to));
        using var listener = Listen(network.Namespace(to), new IPEndPoint(address, port));
        using var client = Tcp(network.Namespace(from));
        var receiving = Task.Run(() => ReceiveOne(listener).Sha256);

        client.Connect(new IPEndPoint(address, port));
        var data = RandomNumberGenerator.GetBytes(bytes);
        for (var offset = 0; offset < data.Length;)
        {
            offset += client.Send(data, offset, Math.Min(1024 * 1024, data.Length - offset), SocketFlags.None);
        }

        client.Shutdown(SocketShutdown.Send);
        Assert.True(receiving.Wait(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken), $"h{from} -> h{to}: the transfer did not finish");
        return (SHA256.HashData(data), receiving.Result);
    }

    /// <summary>Accepts one connection on <paramref name="listener"/> and reads it to its end: how many bytes came, and their SHA-256.</summary>
    public static (long Bytes, byte[] Sha256) ReceiveOne(Socket listener)
    {
        ArgumentNullException.ThrowIfNull(listener);
        using var server = listener.Accept();
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[256 * 1024];
        long total = 0;
        int read;
        while ((read = server.Receive(buffer)) > 0)
        {
            hash.AppendData(buffer, 0, read);
            total += read;
        }

        return (total, hash.GetHashAndReset());
    }

    /// <summary>
    /// Connects from namespace <paramref name="ns"/> to <paramref name="target"/> (retrying every 0.5 s while nothing
    /// listens there yet, such as a VM still booting, for <paramref name="deadline"/>), sends all of <paramref name="data"/>
    /// and shuts down the sending half.
    /// </summary>
    public static void SendWhenListening(string ns, IPEndPoint target, byte[] data, TimeSpan deadline)
    {
        ArgumentNullException.ThrowIfNull(data);
        var watch = Stopwatch.StartNew();
        while (true)
        {
            using var client = Tcp(ns);
            try
            {
                client.Connect(target);
            }
            catch (SocketException) when (watch.Elapsed < deadline)
            {
                Thread.Sleep(500);
                continue;
            }

            for (var offset = 0; offset < data.Length;)
            {
                offset += client.Send(data, offset, data.Length - offset, SocketFlags.None);
            }

            client.Shutdown(SocketShutdown.Send);
            return;
        }
    }

    /// <summary>
    /// Runs <paramref name="open"/> inside namespace <paramref name="ns"/> (<see cref="NetworkNamespace.Run"/>): the
    /// sockets it creates belong to that namespace for good and may then be used from any thread.
    /// </summary>
    public static T Run<T>(string ns, Func<T> open, string failure)
    {
        try
        {
            return NetworkNamespace.Run(ns, open);
        }
        catch (Exception ex)
        {
            throw new InvalidOperationException(failure, ex);
        }
    }
}
