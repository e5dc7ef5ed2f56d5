using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;

namespace UserBridge.Control.Management;

/// <summary>Sends one request to a running switch and returns the result, or throws with the switch's error text.</summary>
public static class ManagementClient
{
    public static JsonNode Call(string path, string verb, JsonObject? args = null)
    {
        using var socket = Connect(path);
        using var stream = new NetworkStream(socket, ownsSocket: false);
        using var writer = new StreamWriter(stream, new UTF8Encoding(false)) { NewLine = "\n" };
        using var reader = new StreamReader(stream, Encoding.UTF8);
        writer.WriteLine(ManagementProtocol.Request(verb, args));
        writer.Flush();
        return ParseReply(path, reader.ReadLine() ?? throw new ManagementException($"{path}: the switch closed the connection without a reply"));
    }

    internal static Socket Connect(string path)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Connect(new UnixDomainSocketEndPoint(path));
            return socket;
        }
        catch (SocketException ex)
        {
            socket.Dispose();
            throw new ManagementException($"connect {path}: {ex.Message} — is the switch running? (userbridge run --name NAME, or pass --control PATH)", ex);
        }
    }

    internal static JsonNode ParseReply(string path, string line)
    {
        if (JsonNode.Parse(line) is not JsonObject reply)
        {
            throw new ManagementException($"{path}: the reply is not a JSON object");
        }

        if ((bool?)reply["ok"] != true)
        {
            throw new ManagementException((string?)reply["error"] ?? "the switch refused the request");
        }

        return reply["result"] ?? new JsonObject();
    }

    /// <summary>True when something accepts connections on <paramref name="path"/>.</summary>
    public static bool IsAlive(string path)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Connect(new UnixDomainSocketEndPoint(path));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}

/// <summary>
/// A connection turned into a stream by its first request: pcapng by <c>capture stream</c>, JSON lines by
/// <c>monitor</c>. <see cref="RequestStop"/> half-closes it: the switch then ends the capture (writing its
/// statistics) or the event stream, and closes the connection.
/// </summary>
public sealed class StreamConnection : IDisposable
{
    private readonly Socket _socket;

    private StreamConnection(Socket socket)
    {
        _socket = socket;
        Stream = new NetworkStream(socket, ownsSocket: false);
    }

    /// <summary>What follows the reply line: pcapng bytes from the Section Header Block on, or event lines.</summary>
    public NetworkStream Stream { get; }

    /// <summary>Sends <paramref name="verb"/> as the first request of a new connection; throws with the switch's error.</summary>
    public static StreamConnection Open(string path, string verb, JsonObject? args = null)
    {
        var socket = ManagementClient.Connect(path);
        var connection = new StreamConnection(socket);
        try
        {
            connection.Stream.Write(Encoding.UTF8.GetBytes(ManagementProtocol.Request(verb, args) + "\n"));
            ManagementClient.ParseReply(path, connection.ReadLine() ?? throw new ManagementException($"{path}: the switch closed the connection without a reply"));
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>Ends the stream: the switch finishes it (a capture with its statistics) and closes it.</summary>
    public void RequestStop()
    {
        try
        {
            _socket.Shutdown(SocketShutdown.Send);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // Already closed: the capture has ended anyway.
        }
    }

    public void Dispose()
    {
        Stream.Dispose();
        _socket.Dispose();
    }

    /// <summary>Reads the reply line byte by byte, so that no byte of the stream after it is consumed.</summary>
    private string? ReadLine()
    {
        var line = new List<byte>();
        while (line.Count < ManagementProtocol.MaxRequestBytes)
        {
            var next = Stream.ReadByte();
            if (next < 0)
            {
                return null;
            }

            if (next == '\n')
            {
                return Encoding.UTF8.GetString([.. line]);
            }

            line.Add((byte)next);
        }

        throw new ManagementException("the switch's reply line is too long");
    }
}
