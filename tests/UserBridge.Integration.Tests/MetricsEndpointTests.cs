using System.Globalization;
using System.Text.RegularExpressions;

namespace UserBridge.Integration.Tests;

/// <summary><c>metrics = "127.0.0.1:PORT"</c>: the switch serves its counters to Prometheus.</summary>
public sealed class MetricsEndpointTests : IDisposable
{
    private readonly SwitchLab _lab = new();

    public void Dispose() => _lab.Dispose();

    [Fact]
    public async Task ThePrometheusEndpointServesEveryPortsCountersAndTheMacTables()
    {
        Privileged.Require("ping");
        var port = Loopback.FreeTcpPort();
        var config = _lab.WriteConfig(_lab.TapPorts(2, header: $"metrics = \"127.0.0.1:{port}\"\n"));
        _lab.Start("--config", config);
        Assert.Contains($"metrics at http://127.0.0.1:{port}/metrics", _lab.Switch!.Output, StringComparison.Ordinal);
        _lab.Network.AddHost(1);
        _lab.Network.AddHost(2);
        Assert.Equal(0, _lab.Network.Ping(1, 2, count: 3).ExitCode);

        using var http = new HttpClient();
        var text = await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/metrics"), TestContext.Current.CancellationToken);

        foreach (var name in new[] { "p1", "p2" })
        {
            Assert.True(Value(text, "userbridge_port_received_frames_total", name) >= 3, $"port {name}: too few frames received in:\n{text}");
            Assert.True(Value(text, "userbridge_port_sent_frames_total", name) >= 3, $"port {name}: too few frames sent in:\n{text}");
            Assert.Equal(1, Value(text, "userbridge_port_up", name));
        }

        Assert.Matches(@"(?m)^userbridge_mac_table_entries(\{[^}]*\})? 2( |$)", text);
        Assert.Matches(@"(?m)^userbridge_port_drops_total\{[^}]*reason=""too_short""[^}]*\} 0( |$)", text);
    }

    /// <summary>The value of <paramref name="metric"/> for port <paramref name="port"/>.</summary>
    private static double Value(string text, string metric, string port)
    {
        var match = Regex.Match(text, $@"(?m)^{metric}\{{[^}}]*port=""{port}""[^}}]*\}} (\S+)");
        Assert.True(match.Success, $"no {metric} for port {port} in:\n{text}");
        return double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
    }
}
