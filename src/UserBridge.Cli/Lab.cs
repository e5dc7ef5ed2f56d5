using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using UserBridge.Cli.Output;
using UserBridge.Control.Config;
using UserBridge.Control.Management;
using UserBridge.Control.Runtime;
using UserBridge.Linux.Host;

namespace UserBridge.Cli;

/// <summary>
/// <c>userbridge lab</c>: three network namespaces as hosts on three TAP ports of a switch, with addresses from
/// the benchmarking range 198.18.0.0/15 and no default route. It pings every pair, shows the MAC table filling
/// and the counters, then (unless <c>--once</c>) stays up with live counters until Ctrl-C. Everything it
/// creates is named PREFIX-...; leftovers of a crashed run with the same prefix are removed first.
/// </summary>
public sealed class Lab(string prefix, int hosts, TextWriter output, ILogger logger)
{
    public const string DefaultPrefix = "ublab";

    public string Prefix { get; } = prefix;

    public string Namespace(int host) => $"{Prefix}-h{host}";

    public string TapName(int host) => $"{Prefix}-p{host}";

    public static string Address(int host) => $"198.18.0.{host}";

    /// <summary>Runs the lab; returns the process exit code (0 when every ping succeeded).</summary>
    public int Run(bool once, CancellationToken cancellation)
    {
        if (Prefix.Length is 0 or > 11 || !ConfigValues.IsValidName(Prefix))
        {
            throw new ConfigException([$"lab prefix '{Prefix}' is not valid: use 1 to 11 letters, digits, '.', '_' or '-' (it names namespaces and TAPs)"]);
        }

        if (!Privileges.IsRoot)
        {
            throw new ConfigException(["userbridge lab creates network namespaces and TAP devices: run it as root (sudo)"]);
        }

        Cleanup(leftovers: true);
        SwitchHost? host = null;
        try
        {
            var config = new SwitchConfig
            {
                Name = Prefix,
                Control = $"/run/userbridge/{Prefix}.sock",
                Ports = [.. Enumerable.Range(1, hosts).Select(i => PortConfig.Tap(TapName(i), $"p{i}"))],
            };
            host = SwitchHost.Start(config, logger, output.WriteLine);
            for (var i = 1; i <= hosts; i++)
            {
                AddHost(i);
            }

            output.WriteLine($"{hosts} hosts up: {string.Join(", ", Enumerable.Range(1, hosts).Select(i => $"{Namespace(i)} {Address(i)}/24 on port p{i}"))}");
            var failures = PingAllPairs(cancellation);
            output.WriteLine();
            output.WriteLine("MAC table (userbridge fdb show --name " + Prefix + "):");
            output.Write(TextTables.Fdb((JsonArray)ManagementClient.Call(host.ControlPath, "fdb show")));
            output.WriteLine();
            output.WriteLine("Ports (userbridge port show --name " + Prefix + "):");
            output.Write(TextTables.Ports((JsonArray)ManagementClient.Call(host.ControlPath, "port show")));
            output.WriteLine();
            output.WriteLine(failures == 0 ? "every pair of hosts reached each other through the switch" : $"{failures} ping(s) failed");
            if (!once)
            {
                output.WriteLine($"The lab stays up: try `ip netns exec {Namespace(1)} ping {Address(2)}` or `userbridge fdb show --name {Prefix}`. Ctrl-C ends it and removes everything.");
                while (!cancellation.WaitHandle.WaitOne(TimeSpan.FromSeconds(2)))
                {
                    output.WriteLine(host.SummaryLine());
                }
            }

            return failures == 0 ? 0 : 1;
        }
        finally
        {
            host?.Dispose();
            Cleanup(leftovers: false);
        }
    }

    /// <summary>Removes the lab's namespaces (and with them anything inside). Safe to call when nothing exists.</summary>
    public void Cleanup(bool leftovers)
    {
        var existing = ExternalCommand.Run("ip", "netns", "list").Output;
        for (var i = 1; i <= hosts; i++)
        {
            var name = Namespace(i);
            if (existing.Split('\n').Any(line => line.Split(' ')[0] == name))
            {
                ExternalCommand.Check("ip", "netns", "delete", name);
                output.WriteLine(leftovers ? $"removed namespace {name} left by an earlier run" : $"removed namespace {name}");
            }
        }
    }

    private void AddHost(int i) => HostNamespace.Create(Namespace(i), TapName(i), $"{Address(i)}/24");

    private int PingAllPairs(CancellationToken cancellation)
    {
        var failures = 0;
        for (var from = 1; from <= hosts; from++)
        {
            for (var to = 1; to <= hosts; to++)
            {
                if (from == to || cancellation.IsCancellationRequested)
                {
                    continue;
                }

                var result = ExternalCommand.Run("ip", "netns", "exec", Namespace(from), "ping", "-c", "2", "-i", "0.2", "-W", "2", "-q", Address(to));
                var summary = result.Output.Split('\n').FirstOrDefault(l => l.Contains("transmitted", StringComparison.Ordinal))?.Trim() ?? result.Error.Trim();
                var ok = result.ExitCode == 0;
                failures += ok ? 0 : 1;
                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ping h{from} -> h{to} ({Address(to)}): {(ok ? "ok" : "FAILED")}  {summary}"));
            }
        }

        return failures;
    }
}
