using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using UserBridge.Control.Config;

namespace UserBridge.Control.Management;

/// <summary>
/// Reads a request's arguments with their types: an argument of the wrong JSON type is a <see cref="ManagementException"/>
/// that names it ("vlan must be an integer"), never the JSON library's own message, which names neither the argument
/// nor what it should be.
/// </summary>
public static class ManagementArgs
{
    /// <summary>A string argument; null when it is absent.</summary>
    public static string? Text(JsonObject args, string key)
    {
        ArgumentNullException.ThrowIfNull(args);
        return args[key] switch
        {
            null => null,
            var node when node.GetValueKind() == JsonValueKind.String => node.GetValue<string>(),
            _ => throw new ManagementException($"{key} must be a string"),
        };
    }

    /// <summary>An integer argument from <paramref name="min"/> to <paramref name="max"/>; null when it is absent.</summary>
    public static long? Number(JsonObject args, string key, long min, long max) => Integer(args, key, min, max, Limits.IntegerRange(min, max));

    /// <summary>An integer argument that the verb checks itself (a VLAN ID, a capture's id); null when it is absent.</summary>
    public static int? WholeNumber(JsonObject args, string key) => (int?)Integer(args, key, int.MinValue, int.MaxValue, "an integer");

    private static long? Integer(JsonObject args, string key, long min, long max, string what)
    {
        ArgumentNullException.ThrowIfNull(args);
        var node = args[key];
        if (node is null)
        {
            return null;
        }

        var kind = node.GetValueKind();
        var text = node.ToJsonString();
        if (kind != JsonValueKind.Number || !long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
        {
            var isFloat = kind == JsonValueKind.Number && text.AsSpan().IndexOfAny('.', 'e', 'E') >= 0;
            throw new ManagementException($"{key} must be {what}{(isFloat ? Limits.NotAFloat : string.Empty)}");
        }

        return value;
    }

    /// <summary>A true or false argument; false when it is absent.</summary>
    public static bool Flag(JsonObject args, string key)
    {
        ArgumentNullException.ThrowIfNull(args);
        return args[key] switch
        {
            null => false,
            var node when node.GetValueKind() is JsonValueKind.True or JsonValueKind.False => node.GetValue<bool>(),
            _ => throw new ManagementException($"{key} must be true or false"),
        };
    }
}
