using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging.Abstractions;
using UserBridge.Control.Management;
using UserBridge.Control.Runtime;
using UserBridge.Core.Buffers;
using UserBridge.Core.Frames;
using UserBridge.Core.Learning;
using UserBridge.Core.Ports;
using UserBridge.Core.Switching;
using UserBridge.Tests.Shared;

namespace UserBridge.Control.Tests;

public sealed class ManagementTests : IDisposable
{
    private readonly Bridge _bridge = new(new BridgeOptions());
    private readonly RunningSwitch _ports;
    private readonly string _socketPath = Path.Combine(Path.GetTempPath(), $"ub-mgmt-{Guid.NewGuid():N}.sock");

    public ManagementTests()
    {
        _ports = new RunningSwitch(_bridge, NullLogger.Instance, _ => { });
        _bridge.AddPort(new MemoryPort("p1"));
        _bridge.AddPort(new MemoryPort("p2"));
        _bridge.MacTable.AddStatic(MacAddress.Parse("02:00:00:00:00:01"), 0, 0);
        _bridge.MacTable.Learn(MacTable.Key(MacAddress.Parse("02:00:00:00:00:02"), 10), 1, _bridge.MacTable.NowMs);
    }

    [Fact]
    public void FdbShowListsEveryEntryWithTheDocumentedKeys()
    {
        // The switch lists its table in its own order; the CLI sorts.
        var rows = Result(ManagementProtocol.Handle(_ports, ManagementProtocol.Request("fdb show"))).AsArray().OrderBy(row => (int?)row!["vlan"]).ToList();

        Assert.Equal(2, rows.Count);
        var first = rows[0]!.AsObject();
        Assert.Equal(["mac", "vlan", "port", "age_s", "static"], first.Select(p => p.Key));
        Assert.Equal("02:00:00:00:00:01", (string?)first["mac"]);
        Assert.Equal(0, (int?)first["vlan"]);
        Assert.Equal("p1", (string?)first["port"]);
        Assert.True((bool?)first["static"]);
        Assert.Equal("02:00:00:00:00:02", (string?)rows[1]!["mac"]);
        Assert.Equal(10, (int?)rows[1]!["vlan"]);
        Assert.Equal("p2", (string?)rows[1]!["port"]);
        Assert.False((bool?)rows[1]!["static"]);
    }

    [Fact]
    public void FdbShowFiltersByPortAndVlan()
    {
        var byPort = Result(ManagementProtocol.Handle(_ports, ManagementProtocol.Request("fdb show", new JsonObject { ["port"] = "p2" }))).AsArray();
        var byVlan = Result(ManagementProtocol.Handle(_ports, ManagementProtocol.Request("fdb show", new JsonObject { ["vlan"] = 0 }))).AsArray();

        Assert.Equal("02:00:00:00:00:02", (string?)Assert.Single(byPort)!["mac"]);
        Assert.Equal("02:00:00:00:00:01", (string?)Assert.Single(byVlan)!["mac"]);
    }

    [Fact]
    public void PortShowGivesStateCountersAndDropsByReason()
    {
        var rows = Result(ManagementProtocol.Handle(_ports, ManagementProtocol.Request("port show"))).AsArray();

        Assert.Equal(2, rows.Count);
        var p1 = rows[0]!.AsObject();
        foreach (var key in new[] { "name", "type", "interface", "state", "rx_frames", "tx_frames", "rx_bytes", "tx_bytes", "drops" })
        {
            Assert.True(p1.ContainsKey(key), $"port show lacks '{key}'");
        }

        Assert.Equal("memory", (string?)p1["type"]);
        Assert.Equal("up", (string?)p1["state"]);
        Assert.Equal(0, (long?)p1["drops"]!["too_short"]);
        Assert.Equal(0, (long?)p1["drops"]!["multicast_source"]);
        Assert.Equal(0, (long?)p1["drops"]!["port_down"]);
    }

    [Theory]
    [InlineData("not json", "the request is not valid JSON")]
    [InlineData("[1,2]", "a request is a JSON object")]
    [InlineData("{\"verb\":7}", "a request is a JSON object")]
    [InlineData("{\"verb\":\"fly\"}", "unknown verb 'fly'; known: fdb show, fdb add, fdb del, fdb flush, port show, vlan show, port add, port del, port set, reload, stats, capture start, capture stop, capture list, capture stream, monitor, mirror show, mirror add, mirror del, version")]
    [InlineData("{\"verb\":\"port add\",\"args\":{\"name\":\"x\",\"type\":\"qemu-stream\"}}", "port add: [[port]] of type \"qemu-stream\" has no path")]
    [InlineData("{\"verb\":\"port add\",\"args\":{\"name\":\"p1\",\"type\":\"qemu-dgram\",\"path\":\"/tmp/ub-dup.sock\"}}", "a port named 'p1' already exists")]
    [InlineData("{\"verb\":\"port del\",\"args\":{\"name\":\"nope\"}}", "no port named 'nope'")]
    [InlineData("{\"verb\":\"port del\"}", "port del needs the port's name")]
    [InlineData("{\"verb\":\"fdb show\",\"args\":[1]}", "\"args\" must be a JSON object")]
    [InlineData("{\"verb\":\"port show\",\"args\":{\"port\":\"nope\"}}", "no port named 'nope'")]
    [InlineData("{\"verb\":\"fdb show\",\"args\":{\"vlan\":\"ten\"}}", "")]
    public void ABadRequestGetsAnErrorReplyNotAnException(string request, string error)
    {
        var reply = JsonNode.Parse(ManagementProtocol.Handle(_ports, request))!.AsObject();

        Assert.False((bool?)reply["ok"]);
        Assert.StartsWith(error, (string?)reply["error"], StringComparison.Ordinal);
    }

    [Fact]
    public void TheSocketServesRequestsIsPrivateAndIsRemovedOnDispose()
    {
        using (var server = ManagementServer.Start(_socketPath, _ports, NullLogger.Instance))
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(_socketPath));
            var rows = ManagementClient.Call(_socketPath, "port show").AsArray();
            Assert.Equal(["p1", "p2"], rows.Select(r => (string?)r!["name"]));

            var refused = Assert.Throws<ManagementException>(() => ManagementServer.Start(_socketPath, _ports, NullLogger.Instance));
            Assert.Contains("another switch is already serving", refused.Message, StringComparison.Ordinal);

            var error = Assert.Throws<ManagementException>(() => ManagementClient.Call(_socketPath, "fly"));
            Assert.StartsWith("unknown verb 'fly'", error.Message, StringComparison.Ordinal);
        }

        Assert.False(File.Exists(_socketPath));
    }

    [Fact]
    public void MalformedAndOversizedRequestsGetAnErrorReplyAndTheSocketServesTheNextClient()
    {
        using var server = ManagementServer.Start(_socketPath, _ports, NullLogger.Instance);

        Assert.Contains("\"ok\":false", Exchange("{not json"), StringComparison.Ordinal);
        Assert.Contains("\"ok\":false", Exchange("[1,2,3]"), StringComparison.Ordinal);
        var oversized = Exchange(new string('x', ManagementProtocol.MaxRequestBytes + 10));
        Assert.Contains($"request longer than {ManagementProtocol.MaxRequestBytes} bytes; closing this connection", oversized, StringComparison.Ordinal);

        Assert.Equal(["p1", "p2"], ManagementClient.Call(_socketPath, "port show").AsArray().Select(r => (string?)r!["name"]));
    }

    [Fact]
    public void ADuplicatedKeyGetsAnErrorReplyAndTheConnectionServesTheNextRequest()
    {
        using var server = ManagementServer.Start(_socketPath, _ports, NullLogger.Instance);

        var replies = Conversation("{\"verb\":\"version\",\"verb\":\"fly\"}\n{\"verb\":\"version\"}\n");

        Assert.Equal(2, replies.Count);
        Assert.StartsWith("{\"ok\":false,\"error\":\"the request is not valid JSON: Duplicate property", replies[0], StringComparison.Ordinal);
        Assert.StartsWith("{\"ok\":true,\"result\":{\"version\"", replies[1], StringComparison.Ordinal);
    }

    [Fact]
    public void ALastRequestWithoutANewlineIsAnsweredAndTheConnectionThenCloses()
    {
        using var server = ManagementServer.Start(_socketPath, _ports, NullLogger.Instance);

        var replies = Conversation("{\"verb\":\"version\"}\n{\"verb\":\"mirror show\"}");

        Assert.Equal(["{\"ok\":true,\"result\":{\"version\":\"" + ManagementVerbs.Version + "\"}}", "{\"ok\":true,\"result\":[]}"], replies);
    }

    [Theory]
    [InlineData("ff:ff:ff:ff:ff:ff", "the broadcast address")]
    [InlineData("01:00:5e:00:00:01", "a multicast (group) address")]
    [InlineData("33:33:00:00:00:01", "a multicast (group) address")]
    [InlineData("00:00:00:00:00:00", "the all-zero address")]
    public void FdbAddRefusesGroupAndZeroAddresses(string mac, string what)
    {
        var reply = ManagementProtocol.Handle(_ports, ManagementProtocol.Request("fdb add", new JsonObject { ["mac"] = mac, ["port"] = "p1" }));

        Assert.Equal($"{{\"ok\":false,\"error\":\"fdb add: {mac} is {what}, not a station\\u0027s; a static entry needs a unicast MAC\"}}", reply);
        Assert.Equal(2, _bridge.MacTable.Count);
    }

    [Fact]
    public void AnUnexpectedExceptionInAVerbIsAnInternalErrorReplyAndALogLineAndTheConnectionGoesOn()
    {
        var log = new ListLogger();
        _bridge.AddPort(new ThrowingTunnelPort("tun"));
        using var server = ManagementServer.Start(_socketPath, _ports, log);
        var fdbAdd = ManagementProtocol.Request("fdb add", new JsonObject { ["mac"] = "02:00:00:00:00:01", ["port"] = "tun", ["remote"] = "198.18.0.9" });

        var replies = Conversation($"{fdbAdd}\n{ManagementProtocol.Request("version")}\n");

        Assert.Equal("{\"ok\":false,\"error\":\"internal error: OverflowException: TimeSpan overflowed because the duration is too long.\"}", replies[0]);
        Assert.StartsWith("{\"ok\":true", replies[1], StringComparison.Ordinal);
        Assert.Contains("Error: management request 'fdb add' failed unexpectedly; the client got an internal error OverflowException", log.Lines);
        Assert.Equal(1, (long?)ManagementClient.Call(_socketPath, "stats")["management"]!["internal_errors"]);
    }

    /// <summary>Sends one raw line on a new connection and returns the first reply line.</summary>
    private string Exchange(string line)
    {
        using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
        socket.Connect(new System.Net.Sockets.UnixDomainSocketEndPoint(_socketPath));
        using var stream = new System.Net.Sockets.NetworkStream(socket);
        using var reader = new StreamReader(stream);
        var bytes = System.Text.Encoding.UTF8.GetBytes(line + "\n");
        try
        {
            stream.Write(bytes);
        }
        catch (IOException)
        {
            // The server may close an oversized request's connection before it is all written; its reply is still there.
        }

        return reader.ReadLine() ?? string.Empty;
    }

    /// <summary>Sends <paramref name="input"/> on a new connection, ends it, and returns every reply line until the switch closes it.</summary>
    private List<string> Conversation(string input)
    {
        using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
        socket.Connect(new System.Net.Sockets.UnixDomainSocketEndPoint(_socketPath));
        socket.ReceiveTimeout = 10_000;
        using var reader = new StreamReader(new System.Net.Sockets.NetworkStream(socket));
        socket.Send(System.Text.Encoding.UTF8.GetBytes(input));
        socket.Shutdown(System.Net.Sockets.SocketShutdown.Send);
        var replies = new List<string>();
        while (reader.ReadLine() is { } reply)
        {
            replies.Add(reply);
        }

        return replies;
    }

    [Fact]
    public void AStaleSocketFileFromACrashedSwitchIsReplaced()
    {
        LeaveStaleSocket(_socketPath);
        using var server = ManagementServer.Start(_socketPath, _ports, NullLogger.Instance);

        Assert.NotNull(ManagementClient.Call(_socketPath, "version")["version"]);
    }

    [Fact]
    public void AFileThatIsNotASocketIsNeverReplaced()
    {
        File.WriteAllText(_socketPath, "not a socket\n");

        var error = Assert.Throws<ArgumentException>(() => ManagementServer.Start(_socketPath, _ports, NullLogger.Instance));

        Assert.Contains("exists and is a regular file, not a socket", error.Message, StringComparison.Ordinal);
        Assert.Equal("not a socket\n", File.ReadAllText(_socketPath));
    }

    /// <summary>Binds a unix socket at <paramref name="path"/> and closes it without removing the file, as a crashed switch leaves it.</summary>
    private static unsafe void LeaveStaleSocket(string path)
    {
        var fd = Tmds.Linux.LibC.socket(Tmds.Linux.LibC.AF_UNIX, Tmds.Linux.LibC.SOCK_STREAM, 0);
        Assert.True(fd >= 0, "socket(AF_UNIX)");
        var address = new byte[110];
        address[0] = (byte)Tmds.Linux.LibC.AF_UNIX;
        System.Text.Encoding.UTF8.GetBytes(path).CopyTo(address, 2);
        fixed (byte* p = address)
        {
            Assert.Equal(0, Tmds.Linux.LibC.bind(fd, (Tmds.Linux.sockaddr*)p, address.Length));
        }

        Assert.Equal(0, Tmds.Linux.LibC.close(fd));
    }

    [Fact]
    public void AClientOfAMissingSwitchIsToldWhatToCheck()
    {
        var error = Assert.Throws<ManagementException>(() => ManagementClient.Call(_socketPath, "fdb show"));

        Assert.Contains("is the switch running?", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"verb":"fdb show","args":{"vlan":"10"}}""", "vlan must be an integer")]
    [InlineData("""{"verb":"capture stop","args":{"id":1.5}}""", "id must be an integer, written without a decimal point or exponent")]
    [InlineData("""{"verb":"port show","args":{"port":5}}""", "port must be a string")]
    [InlineData("""{"verb":"fdb flush","args":{"port":{"name":"p1"}}}""", "port must be a string")]
    [InlineData("""{"verb":"mirror add","args":{"sources":[1],"output":"p2"}}""", "mirror add: sources are port names")]
    public void AnArgumentOfTheWrongTypeIsRefusedByItsNameNotWithTheJsonLibrarysMessage(string request, string error)
    {
        var reply = JsonNode.Parse(ManagementProtocol.Handle(_ports, request))!;

        Assert.False((bool?)reply["ok"], reply.ToJsonString());
        Assert.Equal(error, (string?)reply["error"]);
    }

    public void Dispose()
    {
        _ports.Dispose();
        _bridge.Dispose();
        File.Delete(_socketPath);
    }

    private static JsonNode Result(string reply)
    {
        var node = JsonNode.Parse(reply)!.AsObject();
        Assert.True((bool?)node["ok"], reply);
        return node["result"]!;
    }

    /// <summary>A tunnel port whose remote handling fails in a way no verb expects: a stand-in for a bug.</summary>
    private sealed class ThrowingTunnelPort(string name) : ITunnelPort
    {
        public string Name { get; } = name;

        public string Type => "memory";

        public string Interface => Name;

        public int Receive(PacketBuffer[] batch) => 0;

        public bool Send(ReadOnlySpan<byte> frame) => true;

        public void Wake()
        {
        }

        public string? RemoteOf(MacAddress mac, int vlan) => null;

        public string? AddStaticRemote(MacAddress mac, int vlan, string remote) => throw new OverflowException("TimeSpan overflowed because the duration is too long.");

        public void RemoveRemote(MacAddress mac, int vlan)
        {
        }

        public void Dispose()
        {
        }
    }
}
