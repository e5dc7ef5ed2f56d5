using System.Text.Json.Nodes;
using System.Text.Json;
using UserBridge.Capture;
using UserBridge.Control.Config;
using UserBridge.Core.Observers;

namespace UserBridge.Control.Management;

/// <summary>
/// The arguments of <c>capture start</c> and <c>capture stream</c> as JSON: <c>ports</c> (array of names),
/// <c>direction</c> (in, out, both), <c>filter</c>, <c>snaplen</c>, <c>include_drops</c>, <c>count</c>,
/// <c>duration_s</c>, and for <c>capture start</c> <c>file</c>, <c>rotate_bytes</c>, <c>keep_files</c>. Each is read
/// with its type and range (<see cref="Limits"/>, the same as the config file's); anything else is a
/// <see cref="ManagementException"/> naming the key, which every path that serves a capture answers.
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

        if (ManagementArgs.Text(args, "direction") is { } direction)
        {
            options = options with { Direction = ObserverDirections.TryParse(direction, out var parsed) ? parsed : throw new ManagementException($"direction \"{direction}\" is not one of in, out, both") };
        }

        return options with
        {
            Filter = ManagementArgs.Text(args, "filter") is { } filter && !string.IsNullOrWhiteSpace(filter) ? filter : null,
            SnapLength = ManagementArgs.Number(args, "snaplen", Limits.MinSnapLength, Limits.MaxSnapLength) is { } snaplen ? (int)snaplen : CaptureOptions.DefaultSnapLength,
            IncludeDrops = ManagementArgs.Flag(args, "include_drops"),
            MaxPackets = ManagementArgs.Number(args, "count", 1, long.MaxValue) ?? 0,
            Duration = ManagementArgs.Number(args, "duration_s", Limits.MinDurationSeconds, Limits.MaxDurationSeconds) is { } seconds ? TimeSpan.FromSeconds(seconds) : null,
        };
    }

    public static FileCaptureOutput FileOutput(JsonObject args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var file = ManagementArgs.Text(args, "file") ?? throw new ManagementException("capture start needs a file (the switch writes it)");
        return new FileCaptureOutput(file, ManagementArgs.Number(args, "rotate_bytes", Limits.MinRotateBytes, Limits.MaxRotateBytes) ?? 0, (int)(ManagementArgs.Number(args, "keep_files", 1, Limits.MaxKeepFiles) ?? 0));
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
            ["direction"] = ObserverDirections.Name(options.Direction),
            ["filter"] = options.Filter,
            ["include_drops"] = options.IncludeDrops,
            ["written"] = session.Written,
            ["dropped"] = session.Dropped,
            ["state"] = session.EndReason,
        };
    }
}
