using System.Text.Json.Nodes;
using UserBridge.Cli.Output;

namespace UserBridge.Cli.Tests;

public sealed class PortRatesTests
{
    [Fact]
    public void RatesAreTheCounterDifferencesOverTheElapsedTime()
    {
        var before = Rows(("p1", 100, 1000, 50, 0, 1), ("p2", 10, 100, 10, 5, 0));
        var after = Rows(("p1", 300, 3000, 150, 2, 5), ("p2", 10, 100, 10, 5, 0), ("p3", 40, 400, 0, 0, 0));

        var rates = PortRate.Between(before, after, TimeSpan.FromSeconds(2)).ToDictionary(rate => rate.Name);

        Assert.Equal(new PortRate("p1", "up", 100, 50, 8000, 4000, 1, 2), rates["p1"]);
        Assert.Equal(new PortRate("p2", "up", 0, 0, 0, 0, 0, 0), rates["p2"]);
        Assert.Equal(20, rates["p3"].RxPps);
    }

    [Fact]
    public void APortWhoseCountersWentBackCountsFromZero()
    {
        var rates = PortRate.Between(Rows(("p1", 500, 5000, 0, 0, 0)), Rows(("p1", 30, 300, 0, 0, 0)), TimeSpan.FromSeconds(1));

        Assert.Equal(30, Assert.Single(rates).RxPps);
    }

    [Theory]
    [InlineData('n', "a,b,c")]
    [InlineData('r', "b,c,a")]
    [InlineData('d', "c,a,b")]
    public void SortsByTheChosenColumn(char key, string order)
    {
        var rates = new[] { Rate("b", rx: 9, drops: 0), Rate("a", rx: 1, drops: 1), Rate("c", rx: 5, drops: 7) };

        Assert.Equal(order, string.Join(',', PortRate.Sort(rates, key).Select(rate => rate.Name)));
    }

    [Theory]
    [InlineData(0, "0")]
    [InlineData(999, "999")]
    [InlineData(1500, "1.5k")]
    [InlineData(18_600_000_000, "18.6G")]
    public void RatesAreShownInFewCharacters(double value, string text) => Assert.Equal(text, PortRate.Human(value));

    private static PortRate Rate(string name, double rx, double drops) => new(name, "up", rx, 0, 0, 0, drops, 0);

    private static JsonArray Rows(params (string Name, long RxFrames, long RxBytes, long TxFrames, long Drops, long Floods)[] rows) =>
        [.. rows.Select(row => new JsonObject
        {
            ["name"] = row.Name,
            ["state"] = "up",
            ["rx_frames"] = row.RxFrames,
            ["rx_bytes"] = row.RxBytes,
            ["tx_frames"] = row.TxFrames,
            ["tx_bytes"] = row.TxFrames * 10,
            ["floods"] = row.Floods,
            ["drops"] = new JsonObject { ["too_short"] = row.Drops },
        })];
}
