using System.Net.Sockets;
using System.Net;
using OpenTelemetry.Metrics;
using OpenTelemetry;
using UserBridge.Control.Management;

namespace UserBridge.Control.Metrics;

/// <summary>
/// Serves the <see cref="SwitchMetrics.MeterName"/> meter in Prometheus' text format at <c>http://ADDRESS:PORT/metrics</c>
/// (<c>metrics = "127.0.0.1:9464"</c>), through OpenTelemetry's Prometheus exporter.
/// </summary>
public sealed class PrometheusEndpoint : IDisposable
{
    private readonly MeterProvider _provider;

    private PrometheusEndpoint(MeterProvider provider, IPEndPoint endpoint)
    {
        _provider = provider;
        Endpoint = endpoint;
    }

    public IPEndPoint Endpoint { get; }

    public string Url => $"http://{Endpoint}/metrics";

    public static PrometheusEndpoint Start(IPEndPoint endpoint)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        try
        {
            var provider = Sdk.CreateMeterProviderBuilder()
                .AddMeter(SwitchMetrics.MeterName)
                .AddPrometheusHttpListener(options =>
                {
                    options.Host = endpoint.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{endpoint.Address}]" : endpoint.Address.ToString();
                    options.Port = endpoint.Port;
                    options.ScrapeResponseCacheDurationMilliseconds = 0;
                })
                .Build();
            return new PrometheusEndpoint(provider, endpoint);
        }
        catch (HttpListenerException ex)
        {
            throw new ManagementException($"metrics {endpoint}: {ex.Message}; choose another address or port for metrics =", ex);
        }
    }

    public void Dispose() => _provider.Dispose();
}
