using System.Diagnostics;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using System.Text.Json;
using System.Text;
using CsCheck;
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
/// Fuzzing of the management protocol: random bytes, broken JSON, and well-formed requests of every verb that only
/// changes memory (ports here are in-memory) with arguments of every JSON type. Each must get one JSON reply line,
/// <c>ok</c> true or false with an error text, and never an exception out of the handler (which would drop the client).
/// Verbs that create sockets, TAPs or files at a path from the request are left out: their paths are checked by the
/// same argument readers. Over the socket, clients that send such requests and never read a reply must neither stall
/// the others nor stay connected past the reply deadline.
/// </summary>
public sealed class ManagementFuzzTests : IDisposable
{
    private static readonly string[] Verbs =
    [
        "fdb show", "fdb add", "fdb del", "fdb flush", "port show", "vlan show", "port set", "port del", "stats",
        "capture stop", "capture list", "mirror show", "mirror add", "mirror del", "version", "no such verb", "",
    ];

    private static readonly string[] Keys =
    [
        "mac", "port", "vlan", "state", "mode", "allowed", "native", "tpid", "id", "sources", "output", "direction", "name",
    ];

    private static readonly Gen<JsonNode?> ValueGen = Gen.Frequency(
        (2, Gen.Const(static () => (JsonNode?)null)),
        (3, Gen.String[0, 20].Select(static text => (JsonNode?)JsonValue.Create(text))),
        (3, Gen.OneOf("p1", "p2", "02:00:00:00:00:01", "ff:ff:ff:ff:ff:ff", "up", "down", "trunk", "access", "10,20", "0x88a8", "both", "4095", "-1")
            .Select(static text => (JsonNode?)JsonValue.Create(text))),
        (3, Gen.Long.Select(static number => (JsonNode?)JsonValue.Create(number))),
        (1, Gen.Double.Select(static number => (JsonNode?)JsonValue.Create(double.IsFinite(number) ? number : 0.5))),
        (1, Gen.Bool.Select(static flag => (JsonNode?)JsonValue.Create(flag))),
        (1, Gen.Int[0, 4096].Array[0, 4].Select(static numbers => (JsonNode?)new JsonArray([.. numbers.Select(n => (JsonNode?)n)]))),
        (1, Gen.Const(static () => (JsonNode?)new JsonObject { ["nested"] = "x" })));

    private static readonly Gen<string> RequestGen = Gen.Frequency(
        (1, Gen.Byte.Array[0, 200].Select(static bytes => Encoding.UTF8.GetString(bytes))),
        (1, Gen.String[0, 100]),
        (6, Gen.Select(Gen.OneOf(Verbs), Gen.Select(Gen.OneOf(Keys), ValueGen).Array[0, 5], Gen.Int[0, 3])
            .Select(static (verb, args, shape) => Request(verb, args, shape))));

    // What a client that never reads sends: any requests, with the listings that grow with the switch among them.
    private static readonly Gen<string[]> SilentClientGen = Gen.Frequency(
        (3, RequestGen),
        (1, Gen.OneOf("fdb show", "port show", "stats", "vlan show").Select(static verb => ManagementProtocol.Request(verb)))).Array[1, 40];

    private readonly Bridge _bridge = new(new BridgeOptions());
    private readonly RunningSwitch _ports;

    public ManagementFuzzTests()
    {
        _ports = new RunningSwitch(_bridge, NullLogger.Instance, _ => { });
        _bridge.AddPort(new MemoryPort("p1"));
        _bridge.AddPort(new MemoryPort("p2"));
        _bridge.AddPort(new MemoryPort("p3"));
    }

    public void Dispose()
    {
        _ports.Dispose();
        _bridge.Dispose();
    }

    [Fact]
    public void EveryRequestGetsOneJsonReplyAndNothingThrows()
    {
        var (iterations, seconds) = FuzzBudget.Current;
        RequestGen.Sample(
            request =>
            {
                var (reply, thrown) = Run(request);
                using var json = JsonDocument.Parse(reply);
                var root = json.RootElement;
                if (!root.TryGetProperty("ok", out var ok) || ok.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
                {
                    throw new InvalidOperationException($"reply without ok: {reply}");
                }

                if (ok.ValueKind == JsonValueKind.False && string.IsNullOrWhiteSpace(root.GetProperty("error").GetString()))
                {
                    throw new InvalidOperationException($"an error reply without a message: {reply}");
                }

                if (reply.Contains('\n', StringComparison.Ordinal))
                {
                    throw new InvalidOperationException("a reply spans more than one line");
                }

                if (ok.ValueKind == JsonValueKind.False)
                {
                    RequireOwnMessage(request, root.GetProperty("error").GetString()!, thrown);
                }
            },
            writeLine: FuzzBudget.Report,
            iter: iterations,
            time: seconds,
            threads: 1);
    }

    [Fact]
    public void ClientsThatNeverReadNeitherStallTheOthersNorOutstayTheReplyDeadline()
    {
        // Enough entries that fdb show replies fill a client's socket many times over.
        for (var i = 0; i < 20_000; i++)
        {
            _bridge.MacTable.Learn(MacTable.Key(new MacAddress(0x0200_0000_0000UL + (ulong)i), 0), i % 3, _bridge.MacTable.NowMs);
        }

        var socketPath = Path.Combine(Path.GetTempPath(), $"ub-fuzz-{Guid.NewGuid():N}.sock");
        using var server = ManagementServer.Start(socketPath, _ports, NullLogger.Instance, new ManagementOptions { ReplyDeadline = TimeSpan.FromMilliseconds(200) });
        var silent = new List<Socket>();
        try
        {
            // Every input is a connection of its own: a smoke run tries a hundredth of the usual count of inputs.
            var (iterations, seconds) = FuzzBudget.Current;
            SilentClientGen.Sample(
                requests =>
                {
                    var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                    silent.Add(client);
                    client.Connect(new UnixDomainSocketEndPoint(socketPath));
                    client.Send(Encoding.UTF8.GetBytes(string.Concat(requests.Select(request => request + "\n"))));
                    if (ManagementClient.Call(socketPath, "version")["version"] is null)
                    {
                        throw new InvalidOperationException("version answered without a version");
                    }

                    // A few silent clients at a time (the cap is another test's subject); one that closes is let go at once.
                    if (silent.Count > 16)
                    {
                        silent[0].Dispose();
                        silent.RemoveAt(0);
                    }

                    WaitForClients(server, silent.Count, "the closed clients to be let go");
                },
                writeLine: FuzzBudget.Report,
                iter: iterations < 0 ? iterations : iterations / 100,
                time: seconds,
                threads: 1);
        }
        finally
        {
            silent.ForEach(client => client.Dispose());
        }

        WaitForClients(server, 0, "the silent clients to be let go");
    }

    /// <summary>
    /// Handles a request as <see cref="ManagementProtocol.Handle"/> does, and returns with the reply the exception the
    /// verb threw, if it threw one (the protocol turns it into the error reply).
    /// </summary>
    private (string Reply, Exception? Thrown) Run(string request)
    {
        var parsed = ManagementProtocol.Parse(Encoding.UTF8.GetBytes(request));
        Exception? thrown = null;
        if (parsed.Verb is { } verb)
        {
            parsed = parsed with
            {
                Verb = verb with
                {
                    Run = verbRequest =>
                    {
                        try
                        {
                            return verb.Run(verbRequest);
                        }
                        catch (Exception ex)
                        {
                            thrown = ex;
                            throw;
                        }
                    },
                },
            };
        }

        return (ManagementProtocol.Execute(_ports, parsed, ManagementCaller.InProcess, null, NullLogger.Instance).ToLine(), thrown);
    }

    /// <summary>
    /// An error reply must say what the verbs (or the request parser) wrote: not an unforeseen exception (the protocol's
    /// <c>internal error:</c> replies), and not the message of an exception thrown inside .NET (<c>An element of type
    /// 'Number' cannot be converted to a 'System.String'.</c>, <c>Value cannot be null. (Parameter 'x')</c>), which the
    /// protocol passes on as it is when its type is one the verbs also throw. The test tells them apart by where the
    /// exception was thrown: in UserBridge's code, or in the framework's.
    /// </summary>
    private static void RequireOwnMessage(string request, string error, Exception? thrown)
    {
        if (error.StartsWith("internal error:", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"{request} got an internal error: {error}\n{thrown}");
        }

        var site = thrown is null ? null : new StackTrace(thrown).GetFrame(0)?.GetMethod();
        if (thrown is not null && site?.DeclaringType?.Assembly.GetName().Name?.StartsWith("UserBridge.", StringComparison.Ordinal) != true)
        {
            throw new InvalidOperationException($"{request} got a message UserBridge did not write: \"{error}\", thrown by {site?.DeclaringType}.{site?.Name}\n{thrown}");
        }
    }

    private static void WaitForClients(ManagementServer server, int count, string what)
    {
        var end = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (server.Counters.Clients > count)
        {
            if (DateTime.UtcNow > end)
            {
                throw new InvalidOperationException($"{server.Counters.Clients} clients connected after 10 s waiting for {what}");
            }

            Thread.Sleep(1);
        }
    }

    /// <summary>A request: the verb and arguments as an object (shape 0), args of another JSON type, or the verb of another type.</summary>
    private static string Request(string verb, (string Key, JsonNode? Value)[] args, int shape)
    {
        var arguments = new JsonObject();
        foreach (var (key, value) in args)
        {
            arguments[key] = value;
        }

        var request = shape switch
        {
            1 => new JsonObject { ["verb"] = verb, ["args"] = JsonValue.Create(verb) },
            2 => new JsonObject { ["verb"] = JsonValue.Create(args.Length), ["args"] = arguments },
            _ => new JsonObject { ["verb"] = verb, ["args"] = arguments },
        };
        return request.ToJsonString();
    }
}
