using System.Text.Json.Nodes;
using System.Text.Json;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging;
using UserBridge.Capture;
using UserBridge.Control.Config;
using UserBridge.Control.Runtime;
using UserBridge.Linux.Interop;

namespace UserBridge.Control.Management;

/// <summary>
/// The management protocol: one JSON object per line each way over a unix stream socket.
/// Request <c>{"verb":"fdb show","args":{...}}</c>; reply <c>{"ok":true,"result":...}</c> or
/// <c>{"ok":false,"error":"..."}</c>. A connection may carry any number of requests.
/// </summary>
public static partial class ManagementProtocol
{
    /// <summary>Requests longer than this are refused (and the connection closed).</summary>
    public const int MaxRequestBytes = 64 * 1024;

    // A key given twice ({"verb":"version","verb":"fly"}) has no meaning to pick: it is refused as invalid JSON.
    private static readonly JsonDocumentOptions ParseOptions = new() { AllowDuplicateProperties = false };

    public static string Request(string verb, JsonObject? args = null) =>
        new JsonObject { ["verb"] = verb, ["args"] = args ?? [] }.ToJsonString();

    /// <summary>
    /// Runs one request line against the switch for a caller in this process (trusted like root unless
    /// <paramref name="caller"/> says otherwise) and returns the reply line. Never throws.
    /// </summary>
    public static string Handle(RunningSwitch ports, string requestLine, ManagementCaller? caller = null)
    {
        ArgumentNullException.ThrowIfNull(requestLine);
        return Execute(ports, Parse(Encoding.UTF8.GetBytes(requestLine)), caller ?? ManagementCaller.InProcess, null, NullLogger.Instance).ToLine();
    }

    /// <summary>Reads a request line: the verb's table entry and its arguments, or the error to answer. Never throws.</summary>
    public static ParsedRequest Parse(ReadOnlySpan<byte> requestLine)
    {
        try
        {
            if (JsonNode.Parse(requestLine, documentOptions: ParseOptions) is not JsonObject request || request["verb"] is not JsonValue verbNode || verbNode.GetValueKind() != JsonValueKind.String)
            {
                return Invalid("a request is a JSON object with a string \"verb\" and an optional object \"args\"");
            }

            var verb = verbNode.GetValue<string>();
            if (!ManagementVerbs.All.TryGetValue(verb, out var handler))
            {
                return Invalid($"unknown verb '{verb}'; known: {string.Join(", ", ManagementVerbs.All.Keys)}");
            }

            // Taken out of the request, the arguments belong to no other node: a verb may put them into its reply.
            request.Remove("args", out var args);
            return args switch
            {
                null => new ParsedRequest(handler, [], null),
                JsonObject given => new ParsedRequest(handler, given, null),
                _ => Invalid("\"args\" must be a JSON object"),
            };
        }
        catch (JsonException ex)
        {
            return Invalid($"the request is not valid JSON: {ex.Message}");
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or FormatException)
        {
            return Invalid($"the request is not valid: {ex.Message}");
        }
    }

    /// <summary>
    /// Runs a parsed request for <paramref name="caller"/>. Never throws: an error the verb names becomes an error reply,
    /// and so does anything unexpected (<c>internal error: ...</c>, logged with its stack), so that no request can end
    /// its connection or the switch.
    /// </summary>
    public static ManagementReply Execute(RunningSwitch ports, ParsedRequest request, ManagementCaller caller, ManagementCounters? counters, ILogger logger)
    {
        if (request.Verb is not { } verb)
        {
            return ManagementReply.Failure(request.Error ?? "not a request");
        }

        try
        {
            return verb.Run(new ManagementRequest(ports, request.Args, caller, counters));
        }
        catch (Exception ex) when (ex is ManagementException or ConfigException or CaptureException or InteropException or InvalidOperationException or FormatException or ArgumentException)
        {
            return ManagementReply.Failure(ex.Message);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            counters?.InternalError();
            LogInternalError(logger, verb.Name, ex);
            return ManagementReply.Failure($"internal error: {ex.GetType().Name}: {ex.Message}");
        }
    }

    public static string Ok(JsonNode? result) => new JsonObject { ["ok"] = true, ["result"] = result }.ToJsonString();

    public static string Error(string message) => new JsonObject { ["ok"] = false, ["error"] = message }.ToJsonString();

    private static ParsedRequest Invalid(string error) => new(null, [], error);

    [LoggerMessage(EventId = 101, Level = LogLevel.Error, Message = "management request '{Verb}' failed unexpectedly; the client got an internal error")]
    private static partial void LogInternalError(ILogger logger, string verb, Exception exception);
}
