using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CsCheck;
using Microsoft.Extensions.Logging.Abstractions;
using UserBridge.Core;
using UserBridge.Tests.Shared;

namespace UserBridge.Control.Tests;

/// <summary>
/// Fuzzing of the management protocol: random bytes, broken JSON, and well-formed requests of every verb that only
/// changes memory (ports here are in-memory) with arguments of every JSON type. Each must get one JSON reply line,
/// <c>ok</c> true or false with an error text, and never an exception out of the handler (which would drop the client).
/// Verbs that create sockets, TAPs or files at a path from the request are left out: their paths are checked by the
/// same argument readers.
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

    private readonly Bridge _bridge = new(new BridgeOptions());
    private readonly PortManager _ports;

    public ManagementFuzzTests()
    {
        _ports = new PortManager(_bridge, NullLogger.Instance, _ => { });
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
                var reply = ManagementProtocol.Handle(_ports, request);
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
            },
            writeLine: FuzzBudget.Report,
            iter: iterations,
            time: seconds,
            threads: 1);
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
