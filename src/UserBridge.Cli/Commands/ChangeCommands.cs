using System.CommandLine;
using System.Text.Json.Nodes;
using UserBridge.Cli.Output;
using UserBridge.Core.Ports;

namespace UserBridge.Cli.Commands;

/// <summary>The commands that change a running switch: static MAC entries, flushes, port settings.</summary>
internal static class ChangeCommands
{
    public static Command FdbAdd()
    {
        var common = new CommonOptions();
        var mac = new Argument<string>("MAC") { Description = "the station's MAC address, aa:bb:cc:dd:ee:ff" };
        var port = new Option<string>("--port") { Description = "the port the station is behind", Required = true };
        var vlan = new Option<int?>("--vlan") { Description = "the entry's VLAN (default: the port's access VLAN, or none on a switch without VLANs)" }.Within(0, PortVlan.MaxVid);
        var remote = new Option<string?>("--remote") { Description = "on a vxlan or geneve port: the VTEP (underlay address) the station is behind" };
        var add = new Command("add", "add a static entry: frames to MAC go to that port only, and learning never moves it") { mac, port, vlan, remote };
        common.AddTo(add);
        add.SetAction(result =>
        {
            var args = new JsonObject { ["mac"] = result.GetValue(mac), ["port"] = result.GetValue(port) };
            Put(args, "vlan", result.GetValue(vlan));
            Put(args, "remote", result.GetValue(remote));
            return ShowCommands.Call(result, common, "fdb add", args, reply => $"{(string?)reply["mac"]} vlan {(int?)reply["vlan"]} on port {(string?)reply["port"]}{((string?)reply["remote"] is { } behind ? $" behind {behind}" : string.Empty)}: static entry added\n");
        });
        return add;
    }

    public static Command FdbDel()
    {
        var common = new CommonOptions();
        var mac = new Argument<string>("MAC") { Description = "the MAC address of the entry" };
        var vlan = new Option<int?>("--vlan") { Description = "the entry's VLAN (default 0: none)" }.Within(0, PortVlan.MaxVid);
        var del = new Command("del", "remove an entry, static or learned") { mac, vlan };
        common.AddTo(del);
        del.SetAction(result =>
        {
            var args = new JsonObject { ["mac"] = result.GetValue(mac) };
            Put(args, "vlan", result.GetValue(vlan));
            return ShowCommands.Call(result, common, "fdb del", args, reply => $"{(string?)reply["removed"]} vlan {(int?)reply["vlan"]}: entry removed\n");
        });
        return del;
    }

    public static Command FdbFlush()
    {
        var common = new CommonOptions();
        var port = new Option<string?>("--port") { Description = "only entries learned on this port" };
        var vlan = new Option<int?>("--vlan") { Description = "only entries in this VLAN" }.Within(0, PortVlan.MaxVid);
        var flush = new Command("flush", "forget learned entries (static ones stay): all, or those of a port and/or VLAN") { port, vlan };
        common.AddTo(flush);
        flush.SetAction(result =>
        {
            var args = new JsonObject();
            Put(args, "port", result.GetValue(port));
            Put(args, "vlan", result.GetValue(vlan));
            return ShowCommands.Call(result, common, "fdb flush", args, reply => $"{(int?)reply["flushed"]} learned entries removed\n");
        });
        return flush;
    }

    public static Command PortSet()
    {
        var common = new CommonOptions();
        var name = new Argument<string>("NAME") { Description = "the port to change" };
        var up = new Option<bool>("--up") { Description = "bring the port up (it forwards again)" };
        var down = new Option<bool>("--down") { Description = "take the port down: it drops what it receives and is sent nothing; its learned entries are forgotten" };
        var settings = new Dictionary<string, Option<string?>>(StringComparer.Ordinal)
        {
            ["mode"] = new("--mode") { Description = "VLAN mode: access, trunk or dot1q-tunnel (default access when another VLAN setting is given)" },
            ["allowed"] = new("--allowed") { Description = "trunk: the VLANs it carries, e.g. 10,20,100-199 (default 1-4094)" },
            ["tpid"] = new("--tpid") { Description = "trunk: 0x8100 (default) or 0x88a8 (802.1ad)" },
        };
        var vlan = new Option<int?>("--vlan") { Description = "access or dot1q-tunnel: the port's VLAN (1-4094)" }.Within(PortVlan.MinVid, PortVlan.MaxVid);
        var native = new Option<int?>("--native") { Description = "trunk: the VLAN of untagged frames (1-4094)" }.Within(PortVlan.MinVid, PortVlan.MaxVid);
        var set = new Command("set", "change a port of the running switch; the other ports keep forwarding undisturbed. VLAN settings replace the port's whole VLAN configuration and forget what it learned") { name, up, down, vlan, native };
        foreach (var option in settings.Values)
        {
            set.Options.Add(option);
        }

        common.AddTo(set);
        set.Validators.Add(result =>
        {
            if (result.GetValue(up) && result.GetValue(down))
            {
                result.AddError("give --up or --down, not both");
            }
        });
        set.SetAction(result =>
        {
            var args = new JsonObject { ["name"] = result.GetValue(name) };
            if (result.GetValue(up) || result.GetValue(down))
            {
                args["state"] = result.GetValue(up) ? "up" : "down";
            }

            foreach (var (key, option) in settings)
            {
                Put(args, key, result.GetValue(option));
            }

            Put(args, "vlan", result.GetValue(vlan));
            Put(args, "native", result.GetValue(native));
            return ShowCommands.Call(result, common, "port set", args, reply => TextTables.Ports([reply.DeepClone()]));
        });
        return set;
    }

    public static Command MirrorAdd()
    {
        var common = new CommonOptions();
        var sources = new Option<string[]>("--source") { Description = "a port whose traffic is copied; repeat for more", Required = true, Arity = ArgumentArity.OneOrMore };
        var output = new Option<string>("--output") { Description = "the port the copies go out of (it is then never learned on, and receives copies only)", Required = true };
        var direction = new Option<string>("--direction") { Description = "in, out or both (default)", DefaultValueFactory = _ => "both" };
        var vlan = new Option<int?>("--vlan") { Description = "push an 802.1Q tag with this VID onto every copy (1-4094)" }.Within(PortVlan.MinVid, PortVlan.MaxVid);
        var add = new Command("add", "mirror ports to an output port (SPAN) on the running switch") { sources, output, direction, vlan };
        common.AddTo(add);
        add.SetAction(result =>
        {
            var args = new JsonObject
            {
                ["sources"] = new JsonArray([.. result.GetValue(sources)!.Select(name => JsonValue.Create(name))]),
                ["output"] = result.GetValue(output),
                ["direction"] = result.GetValue(direction),
            };
            Put(args, "vlan", result.GetValue(vlan));
            return ShowCommands.Call(result, common, "mirror add", args, reply => TextTables.Mirrors([reply.DeepClone()]));
        });
        return add;
    }

    public static Command MirrorDel()
    {
        var common = new CommonOptions();
        var output = new Argument<string>("OUTPUT") { Description = "the output port of the mirror to remove" };
        var del = new Command("del", "remove a mirror") { output };
        common.AddTo(del);
        del.SetAction(result => ShowCommands.Call(result, common, "mirror del", new JsonObject { ["output"] = result.GetValue(output) }, reply => $"mirror to {(string?)reply["removed"]} removed\n"));
        return del;
    }

    public static Command Reload()
    {
        var common = new CommonOptions();
        var reload = new Command("reload", "re-read the running switch's config file and apply only the difference (as SIGHUP does); a bad file is refused whole and the running config stays");
        common.AddTo(reload);
        reload.SetAction(result => ShowCommands.Call(result, common, "reload", null, reply =>
            reply["changes"] is JsonArray { Count: > 0 } changes ? string.Concat(changes.Select(change => $"{(string?)change}\n")) : "nothing changed\n"));
        return reload;
    }

    private static void Put<T>(JsonObject args, string key, T? value)
    {
        if (value is not null)
        {
            args[key] = JsonValue.Create(value);
        }
    }
}
