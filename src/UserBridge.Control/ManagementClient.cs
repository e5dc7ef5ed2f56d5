using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;

namespace UserBridge.Control;

/// <summary>Sends one request to a running switch and returns the result, or throws with the switch's error text.</summary>
public static class ManagementClient
{
    public static JsonNode Call(string path, string verb, JsonObject? args = null)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Connect(new UnixDomainSocketEndPoint(path));
        }
        catch (SocketException ex)
        {
            throw new ManagementException($"connect {path}: {ex.Message} — is the switch running? (userbridge run --name NAME, or pass --control PATH)", ex);
        }

        using var stream = new NetworkStream(socket, ownsSocket: false);
        using var writer = new StreamWriter(stream, new UTF8Encoding(false)) { NewLine = "\n" };
        using var reader = new StreamReader(stream, Encoding.UTF8);
        writer.WriteLine(ManagementProtocol.Request(verb, args));
        writer.Flush();
        var line = reader.ReadLine() ?? throw new ManagementException($"{path}: the switch closed the connection without a reply");
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
