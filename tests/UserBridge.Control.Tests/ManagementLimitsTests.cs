using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using UserBridge.Control.Management;
using UserBridge.Control.Runtime;
using UserBridge.Core.Frames;
using UserBridge.Core.Learning;
using UserBridge.Core.Ports;
using UserBridge.Core.Switching;
using UserBridge.Tests.Shared;

namespace UserBridge.Control.Tests;

/// <summary>
/// The management socket's limits, in the process: clients in all and per uid, a client that does not read its
/// replies, and streaming clients that send what nobody reads. Each limit refuses or cuts off with a count in
/// <c>stats</c>, and the other clients are served throughout.
/// </summary>
public sealed class ManagementLimitsTests : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    private readonly Bridge _bridge = new(new BridgeOptions());
    private readonly RunningSwitch _ports;
    private readonly string _socketPath = Path.Combine(Path.GetTempPath(), $"ub-limits-{Guid.NewGuid():N}.sock");
    private readonly List<Socket> _clients = [];

    public ManagementLimitsTests()
    {
        _ports = new RunningSwitch(_bridge, NullLogger.Instance, _ => { });
        _bridge.AddPort(new MemoryPort("p1"));
        _bridge.AddPort(new MemoryPort("p2"));
    }

    public void Dispose()
    {
        _clients.ForEach(client => client.Dispose());
        _ports.Dispose();
        _bridge.Dispose();
        File.Delete(_socketPath);
    }

    [Fact]
    public void ClientsPastMaxClientsAreRefusedWithAnErrorLineCountedAndServedAgainOnceOneLeaves()
    {
        using var server = ManagementServer.Start(_socketPath, _ports, NullLogger.Instance, new ManagementOptions { MaxClients = 3, MaxClientsPerUser = 10 });
        for (var i = 0; i < 3; i++)
        {
            Assert.StartsWith("{\"ok\":true", Exchange(Connect(), ManagementProtocol.Request("version")), StringComparison.Ordinal);
        }

        Assert.Equal(
            "{\"ok\":false,\"error\":\"too many management clients: 3 are connected (max_clients = 3); try again when one has left\"}",
            Exchange(Connect(), ManagementProtocol.Request("version")));

        _clients[0].Dispose();
        WaitFor(() => server.Counters.Clients == 2, "the server to see the client leave");
        var management = ManagementClient.Call(_socketPath, "stats")["management"]!;
        Assert.Equal(1, (long?)management["refused_max_clients"]);
        Assert.Equal(3, (int?)management["max_clients"]);
    }

    [Fact]
    public void AFloodOfRefusedClientsIsCountedInFullAndLoggedOnce()
    {
        var log = new ListLogger();
        using var server = ManagementServer.Start(_socketPath, _ports, log, new ManagementOptions { MaxClients = 1 });
        Assert.StartsWith("{\"ok\":true", Exchange(Connect(), ManagementProtocol.Request("version")), StringComparison.Ordinal);

        for (var i = 0; i < 50; i++)
        {
            Assert.StartsWith("{\"ok\":false,\"error\":\"too many management clients", Exchange(Connect(), ManagementProtocol.Request("version")), StringComparison.Ordinal);
        }

        _clients[0].Dispose();
        WaitFor(() => server.Counters.Clients == 0, "the server to see the client leave");
        Assert.Equal(50, (long?)ManagementClient.Call(_socketPath, "stats")["management"]!["refused_max_clients"]);
        lock (log.Lines)
        {
            Assert.Single(log.Lines, line => line.Contains("refused: too many management clients", StringComparison.Ordinal));
        }
    }

    [Fact]
    public void ClientsOfOneUidPastMaxClientsPerUserAreRefusedAndCounted()
    {
        using var server = ManagementServer.Start(_socketPath, _ports, NullLogger.Instance, new ManagementOptions { MaxClients = 10, MaxClientsPerUser = 2 });
        Assert.StartsWith("{\"ok\":true", Exchange(Connect(), ManagementProtocol.Request("version")), StringComparison.Ordinal);
        Assert.StartsWith("{\"ok\":true", Exchange(Connect(), ManagementProtocol.Request("version")), StringComparison.Ordinal);

        var refusal = Exchange(Connect(), ManagementProtocol.Request("version"));

        Assert.Matches("^\\{\"ok\":false,\"error\":\"uid [0-9]+ has 2 management connections open \\(max_clients_per_user = 2\\); close one first\"\\}$", refusal);
        _clients[0].Dispose();
        WaitFor(() => server.Counters.Clients == 1, "the server to see the client leave");
        Assert.Equal(1, (long?)ManagementClient.Call(_socketPath, "stats")["management"]!["refused_max_clients_per_user"]);
    }

    [Fact]
    public void AClientThatNeverReadsItsRepliesIsCutOffAfterTheDeadlineWhileOthersAreServed()
    {
        for (var i = 0; i < 20_000; i++)
        {
            _bridge.MacTable.Learn(MacTable.Key(new MacAddress(0x0200_0000_0000UL + (ulong)i), 0), 0, _bridge.MacTable.NowMs);
        }

        using var server = ManagementServer.Start(_socketPath, _ports, NullLogger.Instance, new ManagementOptions { ReplyDeadline = TimeSpan.FromMilliseconds(500) });
        var silent = Connect();
        silent.Send(Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat(ManagementProtocol.Request("fdb show") + "\n", 20))));

        Assert.StartsWith("{\"ok\":true", Exchange(Connect(), ManagementProtocol.Request("version")), StringComparison.Ordinal);
        WaitFor(() => server.Counters.Clients == 1, "the silent client to be cut off");
        Assert.Equal(1, (long?)ManagementClient.Call(_socketPath, "stats")["management"]!["cut_off_slow_reader"]);
    }

    [Theory]
    [InlineData(ManagementVerbs.MonitorVerb)]
    [InlineData(ManagementVerbs.CaptureStreamVerb)]
    public void AStreamingClientThatSendsPastTheLimitIsCutOffAndCounted(string verb)
    {
        using var server = ManagementServer.Start(_socketPath, _ports, NullLogger.Instance);
        using var stream = StreamConnection.Open(_socketPath, verb);

        // Sending outlasts the limit only until the switch closes the connection; without the limit it never ends.
        var sent = 0L;
        var chunk = new byte[16 * 1024];
        stream.Stream.WriteTimeout = (int)Deadline.TotalMilliseconds;
        var closed = false;
        while (!closed && sent < 64L * 1024 * 1024)
        {
            try
            {
                stream.Stream.Write(chunk);
                sent += chunk.Length;
            }
            catch (IOException)
            {
                closed = true;
            }
        }

        Assert.True(closed, $"the switch took {sent} bytes after a {verb} request without closing the connection");
        Assert.True(sent < 4 * 1024 * 1024, $"the switch took {sent} bytes after a {verb} request before closing the connection");
        WaitFor(() => server.Counters.Clients == 0, "the streaming client to be gone");
        Assert.Equal(1, (long?)ManagementClient.Call(_socketPath, "stats")["management"]!["cut_off_stream_input"]);
        Assert.Equal("{\"ok\":true,\"result\":[]}", ManagementProtocol.Handle(_ports, ManagementProtocol.Request("capture list")));
    }

    private Socket Connect()
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified) { ReceiveTimeout = (int)Deadline.TotalMilliseconds };
        _clients.Add(socket);
        socket.Connect(new UnixDomainSocketEndPoint(_socketPath));
        return socket;
    }

    /// <summary>Sends one request line and reads one reply line (a refused client's line arrives whether it sends or not).</summary>
    private static string Exchange(Socket socket, string request)
    {
        try
        {
            socket.Send(Encoding.UTF8.GetBytes(request + "\n"));
        }
        catch (SocketException)
        {
            // Refused and closed before the request went: the refusal is still there to read.
        }

        var line = new List<byte>();
        var one = new byte[1];
        while (socket.Receive(one) == 1 && one[0] != '\n')
        {
            line.Add(one[0]);
        }

        return Encoding.UTF8.GetString([.. line]);
    }

    private static void WaitFor(Func<bool> condition, string what)
    {
        var end = DateTime.UtcNow + Deadline;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < end, $"timed out after {Deadline} waiting for {what}");
            Thread.Sleep(10);
        }
    }
}
