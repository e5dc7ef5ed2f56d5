using System.Text.Json;
using System.Text.Json.Nodes;
using UserBridge.Capture;
using UserBridge.Linux;

namespace UserBridge.Control;

/// <summary>
/// The management protocol: one JSON object per line each way over a unix stream socket.
/// Request <c>{"verb":"fdb show","args":{...}}</c>; reply <c>{"ok":true,"result":...}</c> or
/// <c>{"ok":false,"error":"..."}</c>. A connection may carry any number of requests.
/// </summary>
public static class ManagementProtocol
{
    /// <summary>Requests longer than this are refused (and the connection closed).</summary>
    public const int MaxRequestBytes = 64 * 1024;

    public static string Request(string verb, JsonObject? args = null) =>
        new JsonObject { ["verb"] = verb, ["args"] = args ?? [] }.ToJsonString();

    /// <summary>Runs one request line against the switch and returns the reply line. Never throws.</summary>
    public static string Handle(PortManager ports, string requestLine)
    {
        try
        {
            if (JsonNode.Parse(requestLine) is not JsonObject request || request["verb"] is not JsonValue verbNode || verbNode.GetValueKind() != JsonValueKind.String)
            {
                return Error("a request is a JSON object with a string \"verb\" and an optional object \"args\"");
            }

            var verb = verbNode.GetValue<string>();
            if (!ManagementVerbs.All.TryGetValue(verb, out var handler))
            {
                return Error($"unknown verb '{verb}'; known: {string.Join(", ", ManagementVerbs.All.Keys)}");
            }

            var args = request["args"] switch
            {
                null => [],
                JsonObject given => given,
                _ => null,
            };
            if (args is null)
            {
                return Error("\"args\" must be a JSON object");
            }

            var result = handler.Handler(ports, (JsonObject)args.DeepClone());
            return Ok(result);
        }
        catch (JsonException ex)
        {
            return Error($"the request is not valid JSON: {ex.Message}");
        }
        catch (Exception ex) when (ex is ManagementException or ConfigException or CaptureException or InteropException or InvalidOperationException or FormatException or ArgumentException)
        {
            return Error(ex.Message);
        }
    }

    /// <summary>
    /// True when <paramref name="requestLine"/> asks for a verb that turns its connection into a stream
    /// (<see cref="ManagementVerbs.CaptureStreamVerb"/>: pcapng; <see cref="ManagementVerbs.MonitorVerb"/>: events),
    /// with the verb and its arguments.
    /// </summary>
    public static bool IsStreamRequest(string requestLine, out string verb, out JsonObject args)
    {
        args = [];
        verb = string.Empty;
        try
        {
            if (JsonNode.Parse(requestLine) is JsonObject request && (string?)request["verb"] is ManagementVerbs.CaptureStreamVerb or ManagementVerbs.MonitorVerb)
            {
                verb = (string)request["verb"]!;
                args = request["args"] as JsonObject ?? [];
                args = (JsonObject)args.DeepClone();
                return true;
            }
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException)
        {
            // Not a stream request; Handle gives the error.
        }

        return false;
    }

    public static string Ok(JsonNode? result) => new JsonObject { ["ok"] = true, ["result"] = result }.ToJsonString();

    public static string Error(string message) => new JsonObject { ["ok"] = false, ["error"] = message }.ToJsonString();
}
