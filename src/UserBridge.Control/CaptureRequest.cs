using System.Text.Json;
using System.Text.Json.Nodes;
using UserBridge.Capture;
using UserBridge.Core.Taps;

namespace UserBridge.Control;

/// <summary>
/// The arguments of <c>capture start</c> and <c>capture stream</c> as JSON: <c>ports</c> (array of names),
/// <c>direction</c> (in, out, both), <c>filter</c>, <c>snaplen</c>, <c>include_drops</c>, <c>count</c>,
/// <c>duration_s</c>, and for <c>capture start</c> <c>file</c>, <c>rotate_bytes</c>, <c>keep_files</c>.
/// </summary>
public static class CaptureRequest
{
    public static CaptureOptions Options(JsonObject args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var options = new CaptureOptions();
        if (args["ports"] is JsonNode ports)
        {
            var names = ports is JsonArray list
                ? list.Select(node => node?.GetValueKind() == JsonValueKind.String ? node.GetValue<string>() : throw new ManagementException("ports must be an array of port names")).ToHashSet(StringComparer.Ordinal)
                : throw new ManagementException("ports must be an array of port names");
            options = options with { Ports = names.Count == 0 ? null : names };
        }

        if ((string?)args["direction"] is { } direction)
        {
            options = options with { Direction = TapDirections.TryParse(direction, out var parsed) ? parsed : throw new ManagementException($"direction \"{direction}\" is not one of in, out, both") };
        }

        return options with
        {
            Filter = string.IsNullOrWhiteSpace((string?)args["filter"]) ? null : (string?)args["filter"],
            SnapLength = Integer(args, "snaplen", 1, int.MaxValue) is { } snaplen ? (int)snaplen : CaptureOptions.DefaultSnapLength,
            IncludeDrops = (bool?)args["include_drops"] ?? false,
            MaxPackets = Integer(args, "count", 1, long.MaxValue) ?? 0,
            Duration = Integer(args, "duration_s", 1, int.MaxValue) is { } seconds ? TimeSpan.FromSeconds(seconds) : null,
        };
    }

    public static FileCaptureOutput FileOutput(JsonObject args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var file = (string?)args["file"] ?? throw new ManagementException("capture start needs a file (the switch writes it)");
        return new FileCaptureOutput(file, Integer(args, "rotate_bytes", 1, long.MaxValue) ?? 0, (int)(Integer(args, "keep_files", 1, int.MaxValue) ?? 0));
    }

    public static JsonObject Describe(CaptureSession session)
    {
        ArgumentNullException.ThrowIfNull(session);
        var options = session.Options;
        return new JsonObject
        {
            ["id"] = session.Id,
            ["output"] = session.Description,
            ["ports"] = options.Ports is null ? "all" : new JsonArray([.. options.Ports.Order(StringComparer.Ordinal).Select(name => JsonValue.Create(name))]),
            ["direction"] = TapDirections.Name(options.Direction),
            ["filter"] = options.Filter,
            ["include_drops"] = options.IncludeDrops,
            ["written"] = session.Written,
            ["dropped"] = session.Dropped,
            ["state"] = session.EndReason,
        };
    }

    private static long? Integer(JsonObject args, string key, long min, long max)
    {
        var node = args[key];
        if (node is null)
        {
            return null;
        }

        if (node.GetValueKind() != JsonValueKind.Number || !long.TryParse(node.ToJsonString(), out var value) || value < min || value > max)
        {
            throw new ManagementException($"{key} must be an integer from {min} to {max}");
        }

        return value;
    }
}
