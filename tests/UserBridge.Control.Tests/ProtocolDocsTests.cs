using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging.Abstractions;
using UserBridge.Control.Config;
using UserBridge.Control.Management;
using UserBridge.Control.Runtime;
using UserBridge.Core.Ports;
using UserBridge.Core.Switching;

namespace UserBridge.Control.Tests;

/// <summary>
/// docs/management-protocol.md and the verb table agree: every verb has a section with an example, and every example
/// request runs against a switch in this process with arguments its verb reads.
/// </summary>
public sealed partial class ProtocolDocsTests : IDisposable
{
    /// <summary>The ports the examples name; a memory port stands in for each.</summary>
    private static readonly string[] ExamplePorts = ["p1", "p2", "p3", "p9", "a10", "trunk", "vx"];

    /// <summary>A value no argument takes: a verb that reads the argument refuses it, one that ignores it cannot tell.</summary>
    private static readonly JsonObject Probe = new() { ["probe"] = true };

    // Port add runs as a client that may add no port: its arguments are read and checked (and refused before the
    // permission is), and no example opens an interface of this machine.
    private static readonly ManagementCaller Caller = new(1000, RuntimePorts.None);

    private readonly string _directory = Directory.CreateTempSubdirectory("ub-docs-").FullName;
    private readonly string _text = File.ReadAllText(Path.Combine(Repository.Root, "docs", "management-protocol.md"));

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void EveryVerbIsDocumentedWithAnExampleAndNoOtherIs()
    {
        var sections = Section().Matches(_text).Select(match => match.Groups[1].Value).ToList();

        Assert.Equal(ManagementVerbs.All.Keys.Order(StringComparer.Ordinal), sections.Order(StringComparer.Ordinal));
        foreach (var verb in ManagementVerbs.All.Keys)
        {
            Assert.Contains($"→ {{\"verb\":\"{verb}\"", _text, StringComparison.Ordinal);
        }
    }

    /// <summary>
    /// Each example request (<c>→ {...}</c>) runs as written (absolute paths moved into a directory of the test's), then
    /// once for each of its arguments with that argument's value replaced by one no argument takes: the reply must
    /// change, else the verb never read the argument (a misspelt or retired name in the docs). An example that is not a
    /// request at all must be documented as an error.
    /// </summary>
    [Fact]
    public void EveryDocumentedRequestRunsWithArgumentsItsVerbReads()
    {
        var examples = Example().Matches(_text).Select(match => (Line: LineOf(match.Index), Request: match.Groups["request"].Value)).ToList();
        Assert.True(examples.Count >= ManagementVerbs.All.Count, $"only {examples.Count} example requests found");

        foreach (var (line, request) in examples)
        {
            var where = $"docs/management-protocol.md:{line}: {request}";
            var parsed = ManagementProtocol.Parse(Encoding.UTF8.GetBytes(request));
            if (parsed.Verb is null)
            {
                Assert.True(NextReply(line).StartsWith("{\"ok\":false", StringComparison.Ordinal), $"{where} is not a request ({parsed.Error}) and is not shown as refused");
                continue;
            }

            var node = JsonNode.Parse(request)!.AsObject();
            var args = node["args"]?.AsObject() ?? [];
            MovePaths(args);
            var asWritten = Run(node.ToJsonString());
            Assert.False(asWritten.Error?.StartsWith("internal error:", StringComparison.Ordinal) == true, $"{where}: {asWritten.Error}");
            foreach (var name in args.Select(pair => pair.Key).ToList())
            {
                var original = args[name];
                args[name] = Probe.DeepClone();
                var probed = Run(node.ToJsonString());
                args[name] = original?.DeepClone();
                Assert.True(probed != asWritten, $"{where}: {parsed.Verb.Name} does not read the argument '{name}' (the reply is the same without a value it could take: {asWritten})");
            }
        }
    }

    /// <summary>What a reply says: ok, or the error (the result of an ok reply may change from one run to the next).</summary>
    private readonly record struct Outcome(bool Ok, string? Error);

    /// <summary>Runs one request against a new switch with the example ports; the streaming verbs over its socket.</summary>
    private Outcome Run(string request)
    {
        using var bridge = new Bridge(new BridgeOptions());
        using var ports = new RunningSwitch(bridge, NullLogger.Instance, _ => { });
        foreach (var name in ExamplePorts)
        {
            bridge.AddPort(new MemoryPort(name));
        }

        var verb = (string?)JsonNode.Parse(request)!["verb"];
        var reply = verb is ManagementVerbs.CaptureStreamVerb or ManagementVerbs.MonitorVerb
            ? RunOverSocket(ports, request)
            : ManagementProtocol.Handle(ports, request, Caller);
        var json = JsonNode.Parse(reply)!;
        return new Outcome((bool)json["ok"]!, (string?)json["error"]);
    }

    /// <summary>Sends <paramref name="request"/> to a management server of <paramref name="ports"/>; returns the reply line.</summary>
    private string RunOverSocket(RunningSwitch ports, string request)
    {
        var path = Path.Combine(_directory, $"{Guid.NewGuid():N}.sock");
        using var server = ManagementServer.Start(path, ports, NullLogger.Instance);
        using var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified) { ReceiveTimeout = 10_000 };
        client.Connect(new UnixDomainSocketEndPoint(path));
        client.Send(Encoding.UTF8.GetBytes(request + "\n"));
        var line = new List<byte>();
        var one = new byte[1];
        while (client.Receive(one) == 1 && one[0] != (byte)'\n')
        {
            line.Add(one[0]);
        }

        return Encoding.UTF8.GetString([.. line]);
    }

    /// <summary>Moves every absolute path among <paramref name="args"/> (a capture's file) into the test's directory.</summary>
    private void MovePaths(JsonObject args)
    {
        foreach (var (name, value) in args.ToList())
        {
            if (value is JsonValue text && text.TryGetValue<string>(out var path) && path.StartsWith('/'))
            {
                args[name] = Path.Combine(_directory, Path.GetFileName(path));
            }
        }
    }

    private int LineOf(int index) => _text.AsSpan(0, index).Count('\n') + 1;

    /// <summary>The first reply line (<c>← ...</c>) after line <paramref name="line"/>.</summary>
    private string NextReply(int line) =>
        _text.Split('\n').Skip(line).First(text => text.StartsWith("← ", StringComparison.Ordinal))["← ".Length..];

    [GeneratedRegex("^## `([a-z ]+)`$", RegexOptions.Multiline)]
    private static partial Regex Section();

    [GeneratedRegex(@"^→ (?<request>\{.*\})[^}]*$", RegexOptions.Multiline)]
    private static partial Regex Example();
}
