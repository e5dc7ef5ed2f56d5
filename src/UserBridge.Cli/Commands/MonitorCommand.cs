using System.CommandLine;
using System.Text.Json.Nodes;
using System.Text;
using UserBridge.Cli.Output;
using UserBridge.Control.Management;

namespace UserBridge.Cli.Commands;

/// <summary><c>userbridge monitor</c>: prints the switch's events as they happen, like <c>bridge monitor</c>.</summary>
internal static class MonitorCommand
{
    private const int MaxEvents = 1_000_000_000;

    public static Command Create()
    {
        var common = new CommonOptions();
        var count = new Option<int?>("--count", "-c") { Description = $"exit after this many events (1 to {MaxEvents})" }.Within(1, MaxEvents);
        var monitor = new Command("monitor", "print events as they happen until Ctrl-C: MAC learned, moved, aged, evicted; port added, removed, up, down (-j: one JSON object per line)") { count };
        common.AddTo(monitor);
        monitor.SetAction(result =>
        {
            using var signals = new ShutdownSignals();
            StreamConnection connection;
            try
            {
                connection = StreamConnection.Open(common.SocketPath(result), ManagementVerbs.MonitorVerb);
            }
            catch (ManagementException ex)
            {
                Console.Error.WriteLine($"userbridge monitor: {ex.Message}");
                return ExitCodes.Failure;
            }

            using (connection)
            using (signals.Token.Register(connection.RequestStop))
            using (var reader = new StreamReader(connection.Stream, Encoding.UTF8))
            {
                var json = result.GetValue(common.Json);
                var limit = result.GetValue(count);
                var seen = 0;
                while ((limit is null || seen < limit) && reader.ReadLine() is { } line)
                {
                    Console.WriteLine(json ? line : TextTables.Event(JsonNode.Parse(line)!.AsObject()));
                    seen++;
                }
            }

            return ExitCodes.Success;
        });
        return monitor;
    }
}
