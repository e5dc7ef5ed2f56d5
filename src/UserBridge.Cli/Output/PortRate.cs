using System.Globalization;
using System.Text.Json.Nodes;

namespace UserBridge.Cli.Output;

/// <summary>One port's rates between two <c>port show</c> readings: what <c>userbridge top</c> shows.</summary>
public sealed record PortRate(string Name, string State, double RxPps, double TxPps, double RxBitsPerSecond, double TxBitsPerSecond, double DropsPerSecond, double FloodsPerSecond)
{
    /// <summary>The columns <c>top</c> sorts by, with their keys.</summary>
    public static IReadOnlyList<(char Key, string Column)> SortKeys { get; } =
    [
        ('n', "port"), ('r', "rx pps"), ('t', "tx pps"), ('b', "bit/s"), ('d', "drops/s"), ('f', "floods/s"),
    ];

    /// <summary>
    /// Rates of every port in <paramref name="current"/> since <paramref name="previous"/> (both <c>port show</c> rows)
    /// over <paramref name="elapsed"/>; a port that was not there before, or whose counters went back (it was
    /// re-opened), counts from zero.
    /// </summary>
    public static List<PortRate> Between(JsonArray? previous, JsonArray current, TimeSpan elapsed)
    {
        ArgumentNullException.ThrowIfNull(current);
        var seconds = Math.Max(elapsed.TotalSeconds, 1e-3);
        var before = (previous ?? []).OfType<JsonObject>().ToDictionary(row => (string?)row["name"] ?? string.Empty, StringComparer.Ordinal);
        var rates = new List<PortRate>();
        foreach (var row in current.OfType<JsonObject>())
        {
            var name = (string?)row["name"] ?? "?";
            before.TryGetValue(name, out var old);
            double Rate(Func<JsonObject, long> read)
            {
                var now = read(row);
                var then = old is null ? 0 : read(old);
                return (now >= then ? now - then : now) / seconds;
            }

            rates.Add(new PortRate(
                name,
                (string?)row["state"] ?? "?",
                Rate(r => (long?)r["rx_frames"] ?? 0),
                Rate(r => (long?)r["tx_frames"] ?? 0),
                Rate(r => ((long?)r["rx_bytes"] ?? 0) * 8),
                Rate(r => ((long?)r["tx_bytes"] ?? 0) * 8),
                Rate(Drops),
                Rate(r => (long?)r["floods"] ?? 0)));
        }

        return rates;
    }

    /// <summary>Sorts by the column of <paramref name="key"/> (see <see cref="SortKeys"/>): the name ascending, rates descending.</summary>
    public static List<PortRate> Sort(IEnumerable<PortRate> rates, char key) => key switch
    {
        'r' => [.. rates.OrderByDescending(rate => rate.RxPps).ThenBy(rate => rate.Name, StringComparer.Ordinal)],
        't' => [.. rates.OrderByDescending(rate => rate.TxPps).ThenBy(rate => rate.Name, StringComparer.Ordinal)],
        'b' => [.. rates.OrderByDescending(rate => rate.RxBitsPerSecond + rate.TxBitsPerSecond).ThenBy(rate => rate.Name, StringComparer.Ordinal)],
        'd' => [.. rates.OrderByDescending(rate => rate.DropsPerSecond).ThenBy(rate => rate.Name, StringComparer.Ordinal)],
        'f' => [.. rates.OrderByDescending(rate => rate.FloodsPerSecond).ThenBy(rate => rate.Name, StringComparer.Ordinal)],
        _ => [.. rates.OrderBy(rate => rate.Name, StringComparer.Ordinal)],
    };

    /// <summary>"1.5k", "12.3M", "980": rates in at most five characters.</summary>
    public static string Human(double value) => value switch
    {
        >= 1e9 => string.Create(CultureInfo.InvariantCulture, $"{value / 1e9:0.0}G"),
        >= 1e6 => string.Create(CultureInfo.InvariantCulture, $"{value / 1e6:0.0}M"),
        >= 1e3 => string.Create(CultureInfo.InvariantCulture, $"{value / 1e3:0.0}k"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{value:0}"),
    };

    /// <summary>The rates as aligned text, for <c>top</c> when its output is not a terminal.</summary>
    public static string Text(IEnumerable<PortRate> rates)
    {
        var rows = new List<string[]> { Header };
        rows.AddRange(rates.Select(rate => rate.Cells()));
        return TextTables.Render(rows);
    }

    /// <summary>The column titles of <see cref="Cells"/>.</summary>
    public static string[] Header { get; } = ["PORT", "STATE", "RX_PPS", "TX_PPS", "RX_BIT/S", "TX_BIT/S", "DROPS/S", "FLOODS/S"];

    /// <summary>The port's row: its name, state and rates in <see cref="Human"/> form.</summary>
    public string[] Cells() =>
        [Name, State, Human(RxPps), Human(TxPps), Human(RxBitsPerSecond), Human(TxBitsPerSecond), Human(DropsPerSecond), Human(FloodsPerSecond)];

    private static long Drops(JsonObject row) =>
        (row["drops"] as JsonObject)?.Sum(pair => (long?)pair.Value ?? 0) ?? 0;
}
