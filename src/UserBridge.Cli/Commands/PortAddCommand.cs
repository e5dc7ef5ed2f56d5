using System.CommandLine;
using System.Text.Json.Nodes;
using UserBridge.Control.Config;
using UserBridge.Linux.Ports;

namespace UserBridge.Cli.Commands;

/// <summary>
/// <c>userbridge port add</c>: its options are the port types' keys (<see cref="PortTypes"/>) and the keys every port
/// has, read from the registry, so a new type's keys appear here without a line of this file changing.
/// </summary>
internal static class PortAddCommand
{
    public static Command Create()
    {
        var common = new CommonOptions();
        var name = new Argument<string>("NAME") { Description = "the new port's name" };
        var type = new Option<string>("--type")
        {
            Description = $"the port's type (default {PortTypes.Default.Name}): {string.Join("; ", PortTypes.All.Select(kind => $"{kind.Name}, {kind.Description}"))}",
            DefaultValueFactory = _ => PortTypes.Default.Name,
        };
        type.AcceptOnlyFromAmong([.. PortTypes.Names]);
        var add = new Command("add", "add a port to the running switch") { name, type };
        common.AddTo(add);
        var keys = Keys().Select(key => new KeyOption(key.Name, OptionFor(key))).ToList();
        foreach (var key in keys)
        {
            add.Options.Add(key.Option);
        }

        add.SetAction(result =>
        {
            var args = new JsonObject { ["name"] = result.GetValue(name), ["type"] = result.GetValue(type) };
            foreach (var key in keys)
            {
                if (Value(result, key.Option) is { } value)
                {
                    args[key.Name] = value;
                }
            }

            return ShowCommands.Call(result, common, "port add", args, reply => $"port {(string?)reply["name"]} added: {(string?)reply["type"]} {(string?)reply["endpoint"]}\n");
        });
        return add;
    }

    /// <summary>
    /// Every key a port of some type takes, once, with the types it belongs to in its help ("qemu-stream, qemu-dgram: the
    /// unix socket"); a key two kinds give different meanings (mode, group, mtu) lists both. Inline tables are the config
    /// file's and the request's only.
    /// </summary>
    private static IEnumerable<PortKey> Keys()
    {
        var owners = PortTypes.All.SelectMany(kind => kind.Keys.Select(key => (Owner: kind.Name, Key: key)))
            .Concat(PortRules.VlanKeys.Select(key => (Owner: "VLAN", Key: key)))
            .Concat(PortRules.GuardKeys.Select(key => (Owner: "any port", Key: key)))
            .Where(entry => entry.Key.Kind != PortKeyKind.Table);
        return owners.GroupBy(entry => entry.Key.Name, StringComparer.Ordinal).Select(group =>
        {
            var meanings = group.GroupBy(entry => entry.Key.Help, StringComparer.Ordinal)
                .Select(meaning => $"{string.Join(", ", meaning.Select(entry => entry.Owner))}: {meaning.Key}");
            return new PortKey(group.Key, string.Join("; ", meanings), group.First().Key.Kind, group.Min(entry => entry.Key.Min), group.Max(entry => entry.Key.Max));
        });
    }

    private static Option OptionFor(PortKey key) => key.Kind switch
    {
        PortKeyKind.Flag => new Option<bool?>($"--{key.Name}") { Description = key.Help, Arity = ArgumentArity.ZeroOrOne },
        PortKeyKind.Number => new Option<long?>($"--{key.Name}") { Description = key.Help }.Within(key.Min, key.Max),
        _ => new Option<string?>($"--{key.Name}") { Description = key.Help },
    };

    /// <summary>The option's value as the request carries it: a bare flag is true, a list is split at commas.</summary>
    private static JsonNode? Value(ParseResult result, Option option) => option switch
    {
        Option<bool?> flag when result.GetResult(flag) is not null => result.GetValue(flag) ?? true,
        Option<long?> number => result.GetValue(number) is { } value ? JsonValue.Create(value) : null,
        Option<string?> text => result.GetValue(text) is { } value ? JsonValue.Create(value) : null,
        _ => null,
    };

    private sealed record KeyOption(string Name, Option Option);
}
