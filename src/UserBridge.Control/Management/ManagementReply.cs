using System.Text.Json;
using System.Text.Json.Nodes;

namespace UserBridge.Control.Management;

/// <summary>
/// One reply line: <c>{"ok":true,"result":...}</c> with a JSON value or with rows written one at a time
/// (<see cref="ReplyRows"/>), or <c>{"ok":false,"error":"..."}</c>. <see cref="Write"/> writes it in pieces of about a
/// given size, so that the server can send each piece before it writes the next.
/// </summary>
public sealed class ManagementReply
{
    private readonly JsonNode? _value;
    private readonly ReplyRows? _rows;
    private readonly string? _error;
    private bool _started;

    private ManagementReply(JsonNode? value, ReplyRows? rows, string? error)
    {
        _value = value;
        _rows = rows;
        _error = error;
    }

    public static ManagementReply Ok(JsonNode? value) => new(value, null, null);

    /// <summary>A result that is a JSON array of <paramref name="rows"/>.</summary>
    public static ManagementReply Listing(ReplyRows rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        return new(null, rows, null);
    }

    public static ManagementReply Failure(string message) => new(null, null, message);

    /// <summary>
    /// Writes the reply from where the last call stopped, until this call wrote at least <paramref name="pieceBytes"/>
    /// or the reply is complete; returns true once it is complete.
    /// </summary>
    public bool Write(Utf8JsonWriter writer, long pieceBytes)
    {
        ArgumentNullException.ThrowIfNull(writer);
        var start = Written(writer);
        if (!_started)
        {
            _started = true;
            writer.WriteStartObject();
            writer.WriteBoolean("ok", _error is null);
            if (_error is not null)
            {
                writer.WriteString("error", _error);
                writer.WriteEndObject();
                return true;
            }

            if (_rows is null)
            {
                writer.WritePropertyName("result");
                if (_value is null)
                {
                    writer.WriteNullValue();
                }
                else
                {
                    _value.WriteTo(writer);
                }

                writer.WriteEndObject();
                return true;
            }

            writer.WriteStartArray("result");
        }

        while (Written(writer) - start < pieceBytes)
        {
            if (!_rows!.WriteNext(writer))
            {
                writer.WriteEndArray();
                writer.WriteEndObject();
                return true;
            }
        }

        return false;
    }

    /// <summary>The whole reply as one line (without its newline), for callers in the process.</summary>
    public string ToLine()
    {
        var output = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(output))
        {
            // No limit on the piece: the whole reply in one call.
            _ = Write(writer, long.MaxValue);
        }

        return System.Text.Encoding.UTF8.GetString(output.WrittenSpan);
    }

    // The writer hands its bytes to the output when it needs more room, so what it wrote is both counts together.
    private static long Written(Utf8JsonWriter writer) => writer.BytesCommitted + writer.BytesPending;
}
