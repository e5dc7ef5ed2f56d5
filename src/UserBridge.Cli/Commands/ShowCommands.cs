using System.CommandLine;
using System.Text.Json.Nodes;
using System.Text.Json;
using UserBridge.Cli.Output;
using UserBridge.Control.Management;
using UserBridge.Core.Frames;
using UserBridge.Core.Ports;

namespace UserBridge.Cli.Commands;

/// <summary>The commands that ask a running switch over its management socket and print the answer.</summary>
internal static class ShowCommands
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static Command CreateFdb()
    {
        var common = new CommonOptions();
        var port = new Option<string?>("--port") { Description = "only entries on this port" };
        var vlan = new Option<int?>("--vlan") { Description = "only entries in this VLAN" }.Within(0, PortVlan.MaxVid);
        var show = new Command("show", "list the MAC table (forwarding database)");
        common.AddTo(show);
        show.Options.Add(port);
        show.Options.Add(vlan);
        show.SetAction(result =>
        {
            var args = new JsonObject();
            if (result.GetValue(port) is { } p)
            {
                args["port"] = p;
            }

            if (result.GetValue(vlan) is { } v)
            {
                args["vlan"] = v;
            }

            return Call(result, common, "fdb show", args, rows => TextTables.Fdb((JsonArray)rows), ByVlanAndMac);
        });
        return new Command("fdb", "the MAC table") { show, ChangeCommands.FdbAdd(), ChangeCommands.FdbDel(), ChangeCommands.FdbFlush() };
    }

    /// <summary>
    /// The MAC table's rows by VLAN, then MAC: the switch lists them in its table's order, which it can send without
    /// holding a sorted copy of the table for every client.
    /// </summary>
    private static JsonArray ByVlanAndMac(JsonNode rows) =>
        [.. rows.AsArray().Select(row => row!.DeepClone()).OrderBy(row => (int?)row["vlan"] ?? 0).ThenBy(row => MacAddress.TryParse((string?)row["mac"], out var mac) ? mac.Value : 0)];

    public static Command CreatePort()
    {
        var common = new CommonOptions();
        var port = new Option<string?>("--port") { Description = "only this port" };
        var show = new Command("show", "list ports with their state and counters");
        common.AddTo(show);
        show.Options.Add(port);
        show.SetAction(result =>
        {
            var args = new JsonObject();
            if (result.GetValue(port) is { } p)
            {
                args["port"] = p;
            }

            return Call(result, common, "port show", args, rows => TextTables.Ports((JsonArray)rows));
        });
        return new Command("port", "the switch's ports") { show, PortAddCommand.Create(), CreatePortDel(), ChangeCommands.PortSet() };
    }

    private static Command CreatePortDel()
    {
        var common = new CommonOptions();
        var name = new Argument<string>("NAME") { Description = "the port (or socket endpoint) to remove" };
        var del = new Command("del", "remove a port from the running switch") { name };
        common.AddTo(del);
        del.SetAction(result => Call(result, common, "port del", new JsonObject { ["name"] = result.GetValue(name) }, reply => $"port {(string?)reply["removed"]} removed\n"));
        return del;
    }

    public static Command CreateVlan()
    {
        var common = new CommonOptions();
        var vlan = new Option<int?>("--vlan") { Description = "only this VLAN" }.Within(PortVlan.MinVid, PortVlan.MaxVid);
        var port = new Option<string?>("--port") { Description = "only VLANs this port is in" };
        var show = new Command("show", "list VLANs with their member ports, tagged or untagged (like bridge vlan show)") { vlan, port };
        common.AddTo(show);
        show.SetAction(result =>
        {
            var args = new JsonObject();
            if (result.GetValue(vlan) is { } v)
            {
                args["vlan"] = v;
            }

            if (result.GetValue(port) is { } p)
            {
                args["port"] = p;
            }

            return Call(result, common, "vlan show", args, rows => TextTables.Vlans((JsonArray)rows));
        });
        return new Command("vlan", "802.1Q VLANs") { show };
    }

    public static Command CreateMirror()
    {
        var common = new CommonOptions();
        var show = new Command("show", "list port mirrors: sources, direction, output and tag");
        common.AddTo(show);
        show.SetAction(result => Call(result, common, "mirror show", null, rows => TextTables.Mirrors((JsonArray)rows)));
        return new Command("mirror", "port mirroring (SPAN): [[mirror]] tables, or at runtime") { show, ChangeCommands.MirrorAdd(), ChangeCommands.MirrorDel() };
    }

    public static Command CreateStats()
    {
        var common = new CommonOptions();
        var port = new Option<string?>("--port") { Description = "only this port's counters" };
        var stats = new Command("stats", "the switch's counters: MAC table learns, moves, ages and evictions; frames, floods and drops by reason") { port };
        common.AddTo(stats);
        stats.SetAction(result =>
        {
            var args = new JsonObject();
            if (result.GetValue(port) is { } p)
            {
                args["port"] = p;
            }

            return Call(result, common, "stats", args, reply => TextTables.Stats(reply.AsObject()));
        });
        return stats;
    }

    public static Command CreateVersion()
    {
        var common = new CommonOptions();
        var version = new Command("version", "print this program's version, and the running switch's when one answers");
        common.AddTo(version);
        version.SetAction(result =>
        {
            var path = common.SocketPath(result);
            string? running = null;
            if (File.Exists(path) && ManagementClient.IsAlive(path))
            {
                try
                {
                    running = (string?)ManagementClient.Call(path, "version")["version"];
                }
                catch (ManagementException ex)
                {
                    Console.Error.WriteLine($"userbridge version: {ex.Message}");
                    return ExitCodes.Failure;
                }
            }

            if (result.GetValue(common.Json))
            {
                var json = new JsonObject { ["version"] = ManagementVerbs.Version, ["switch"] = running };
                Console.WriteLine(result.GetValue(common.Pretty) ? json.ToJsonString(Indented) : json.ToJsonString());
            }
            else
            {
                Console.WriteLine($"userbridge {ManagementVerbs.Version}{(running is null ? string.Empty : $"\nswitch at {path}: {running}")}");
            }

            return ExitCodes.Success;
        });
        return version;
    }

    /// <summary>
    /// Sends <paramref name="verb"/> and prints the reply: as JSON with <c>-j</c>, else as <paramref name="asText"/> makes it;
    /// <paramref name="arrange"/> first puts it in the order to print.
    /// </summary>
    internal static int Call(ParseResult result, CommonOptions common, string verb, JsonObject? args, Func<JsonNode, string> asText, Func<JsonNode, JsonNode>? arrange = null)
    {
        try
        {
            var reply = ManagementClient.Call(common.SocketPath(result), verb, args);
            reply = arrange?.Invoke(reply) ?? reply;
            if (result.GetValue(common.Json))
            {
                Console.WriteLine(result.GetValue(common.Pretty) ? reply.ToJsonString(Indented) : reply.ToJsonString());
            }
            else
            {
                Console.Write(asText(reply));
            }

            return ExitCodes.Success;
        }
        catch (ManagementException ex)
        {
            Console.Error.WriteLine($"userbridge {verb}: {ex.Message}");
            return ExitCodes.Failure;
        }
    }
}
