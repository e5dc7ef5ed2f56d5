using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace UserBridge.Cli.Output;

/// <summary>Renders management results as aligned text, the default output of the CLI.</summary>
public static class TextTables
{
    private static readonly string[] CaptureHeader = ["ID", "PORTS", "DIRECTION", "FILTER", "WRITTEN", "DROPPED", "OUTPUT"];
    private static readonly string[] MirrorHeader = ["SOURCES", "DIRECTION", "OUTPUT", "VLAN"];
    private static readonly string[] VlanHeader = ["VLAN", "PORTS"];
    private static readonly string[] FdbHeader = ["MAC", "VLAN", "PORT", "AGE", "TYPE"];
    private static readonly string[] PortHeader = ["PORT", "TYPE", "INTERFACE", "STATE", "RX_FRAMES", "RX_BYTES", "TX_FRAMES", "TX_BYTES", "FLOODS", "DROPS"];

    public static string Fdb(JsonArray rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        // The REMOTE column only when an overlay port's stations are listed.
        var remotes = rows.Any(row => row?["remote"] is not null);
        var table = new List<string[]> { remotes ? [.. FdbHeader, "REMOTE"] : FdbHeader };
        foreach (var row in rows)
        {
            var isStatic = (bool?)row?["static"] == true;
            string[] cells =
            [
                (string?)row?["mac"] ?? "?",
                ((int?)row?["vlan"] ?? 0).ToString(CultureInfo.InvariantCulture),
                (string?)row?["port"] ?? "?",
                isStatic ? "-" : ((double?)row?["age_s"] ?? 0).ToString("0.0", CultureInfo.InvariantCulture) + "s",
                isStatic ? "static" : "learned",
            ];
            table.Add(remotes ? [.. cells, (string?)row?["remote"] ?? "-"] : cells);
        }

        return Render(table);
    }

    public static string Ports(JsonArray rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var table = new List<string[]> { PortHeader };
        foreach (var row in rows)
        {
            var drops = new List<string>();
            if (row?["drops"] is JsonObject byReason)
            {
                foreach (var (reason, count) in byReason)
                {
                    if ((long?)count > 0)
                    {
                        drops.Add($"{reason}={count}");
                    }
                }
            }

            if ((long?)row?["capture_drops"] is > 0 and var captureDrops)
            {
                drops.Add($"capture={captureDrops}");
            }

            table.Add(
            [
                (string?)row?["name"] ?? "?",
                (string?)row?["type"] ?? "?",
                (string?)row?["interface"] ?? "?",
                (string?)row?["state"] ?? "?",
                Number(row?["rx_frames"]),
                Number(row?["rx_bytes"]),
                Number(row?["tx_frames"]),
                Number(row?["tx_bytes"]),
                Number(row?["floods"]),
                drops.Count == 0 ? "0" : string.Join(",", drops),
            ]);
        }

        return Render(table);
    }

    public static string Captures(JsonArray rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var table = new List<string[]> { CaptureHeader };
        foreach (var row in rows)
        {
            var ports = row?["ports"] is JsonArray names ? string.Join(",", names.Select(name => (string?)name)) : (string?)row?["ports"] ?? "all";
            table.Add(
            [
                Number(row?["id"]),
                ports,
                (string?)row?["direction"] ?? "?",
                (string?)row?["filter"] ?? "-",
                Number(row?["written"]),
                Number(row?["dropped"]),
                (string?)row?["output"] ?? "?",
            ]);
        }

        return Render(table);
    }

    public static string Mirrors(JsonArray rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var table = new List<string[]> { MirrorHeader };
        foreach (var row in rows)
        {
            table.Add(
            [
                row?["sources"] is JsonArray sources ? string.Join(",", sources.Select(name => (string?)name)) : "?",
                (string?)row?["direction"] ?? "?",
                (string?)row?["output"] ?? "?",
                row?["vlan"] is { } vlan ? Number(vlan) : "-",
            ]);
        }

        return Render(table);
    }

    public static string Vlans(JsonArray rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        if (rows.Count == 0)
        {
            return "no VLANs: the switch is VLAN-transparent (no port has VLAN settings; tags pass unchanged)\n";
        }

        var table = new List<string[]> { VlanHeader };
        foreach (var row in rows)
        {
            var members = row?["ports"] is JsonArray ports
                ? string.Join(' ', ports.Select(p => $"{(string?)p?["port"]}{((bool?)p?["tagged"] == true ? "(tagged)" : "(untagged)")}"))
                : string.Empty;
            table.Add([((int?)row?["vlan"] ?? 0).ToString(CultureInfo.InvariantCulture), members]);
        }

        return Render(table);
    }

    private static string Number(JsonNode? node) => ((long?)node ?? 0).ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// <c>stats</c> as two columns, nested objects flattened (<c>mac_table.learned</c>); drop reasons that never
    /// happened are left out, so what is listed is what went wrong.
    /// </summary>
    public static string Stats(JsonObject stats)
    {
        ArgumentNullException.ThrowIfNull(stats);
        var table = new List<string[]>();
        foreach (var (key, value) in stats)
        {
            if (value is JsonObject nested)
            {
                foreach (var (innerKey, innerValue) in nested)
                {
                    if (key != "drops" || (long?)innerValue > 0)
                    {
                        table.Add([$"{key}.{innerKey}", innerValue?.ToString() ?? "-"]);
                    }
                }
            }
            else
            {
                table.Add([key, value?.ToString() ?? "-"]);
            }
        }

        return Render(table);
    }

    /// <summary>One <c>monitor</c> event as a line, like <c>bridge monitor</c>'s: time, what, and where.</summary>
    public static string Event(JsonObject item)
    {
        ArgumentNullException.ThrowIfNull(item);
        var time = (string?)item["time"] is { Length: >= 23 } stamp ? stamp[11..23] : "-";
        var what = (string?)item["event"];
        var text = what switch
        {
            "moved" => $"moved {item["mac"]} vlan {item["vlan"]} from {item["from"]} to {item["port"]}",
            "learned" or "aged" or "evicted" => $"{what} {item["mac"]} vlan {item["vlan"]} port {item["port"]}",
            "lost" => $"lost {item["count"]} events (the monitor fell behind)",
            "config_applied" => $"config applied: {item["changes"]}",
            _ when what?.StartsWith("port_", StringComparison.Ordinal) == true => $"port {item["port"]} {what["port_".Length..]}",
            _ => item.ToJsonString(),
        };
        return $"{time} {text}";
    }

    internal static string Render(List<string[]> rows)
    {
        var widths = new int[rows[0].Length];
        foreach (var row in rows)
        {
            for (var i = 0; i < row.Length; i++)
            {
                widths[i] = Math.Max(widths[i], row[i].Length);
            }
        }

        var text = new StringBuilder();
        foreach (var row in rows)
        {
            for (var i = 0; i < row.Length; i++)
            {
                text.Append(i == row.Length - 1 ? row[i] : row[i].PadRight(widths[i] + 2));
            }

            text.Append('\n');
        }

        return text.ToString();
    }
}
