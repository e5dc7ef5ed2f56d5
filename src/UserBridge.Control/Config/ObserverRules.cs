using Tomlyn.Syntax;
using UserBridge.Core.Observers;
using UserBridge.Core.Ports;

namespace UserBridge.Control.Config;

/// <summary>The <c>[capture]</c> table and the <c>[[mirror]]</c> tables of the config file, checked key by key.</summary>
internal static class ObserverRules
{
    private static readonly string[] CaptureKeys = ["file", "ports", "direction", "filter", "snaplen", "include_drops", "rotate_bytes", "keep_files"];
    private static readonly string[] MirrorKeys = ["source", "direction", "output", "vlan"];

    public static CaptureConfig? ReadCapture(TableSyntaxBase table, int line, Func<int, string> where, List<string> errors)
    {
        string? file = null;
        var config = new CaptureConfig(string.Empty, line);
        foreach (var keyValue in table.Items)
        {
            var key = ConfigLoader.KeyText(keyValue.Key);
            var at = where(ConfigLoader.Line(keyValue));
            switch (key)
            {
                case "file":
                    file = ConfigLoader.ReadString(keyValue, at, errors);
                    break;
                case "ports":
                    config = config with { Ports = Names(keyValue.Value, key, at, errors) };
                    break;
                case "direction":
                    config = config with { Direction = Direction(keyValue.Value, at, errors) };
                    break;
                case "filter":
                    config = config with { Filter = ConfigLoader.ReadString(keyValue, at, errors) };
                    break;
                case "snaplen":
                    config = config with { SnapLength = (int)(ConfigLoader.ReadInteger(keyValue, at, errors, Limits.MinSnapLength, Limits.MaxSnapLength) ?? config.SnapLength) };
                    break;
                case "include_drops":
                    config = config with { IncludeDrops = ConfigLoader.ReadBoolean(keyValue, at, errors) ?? false };
                    break;
                case "rotate_bytes":
                    config = config with { RotateBytes = ConfigLoader.ReadInteger(keyValue, at, errors, Limits.MinRotateBytes, Limits.MaxRotateBytes) ?? 0 };
                    break;
                case "keep_files":
                    config = config with { KeepFiles = (int)(ConfigLoader.ReadInteger(keyValue, at, errors, 1, Limits.MaxKeepFiles) ?? 0) };
                    break;
                default:
                    errors.Add($"{at}: unknown key '{key}' in [capture]; allowed: {string.Join(", ", CaptureKeys)}");
                    break;
            }
        }

        if (file is null)
        {
            errors.Add($"{where(line)}: [capture] has no file; add file = \"/var/log/userbridge/ub0.pcapng\"");
            return null;
        }

        if (config.KeepFiles > 0 && config.RotateBytes == 0)
        {
            errors.Add($"{where(line)}: [capture] keep_files needs rotate_bytes (the size at which a new file starts)");
        }

        return config with { File = file };
    }

    public static MirrorConfig? ReadMirror(TableSyntaxBase table, int line, Func<int, string> where, List<string> errors)
    {
        HashSet<string>? sources = null;
        string? output = null;
        var direction = ObserverDirection.Both;
        var vlan = 0;
        foreach (var keyValue in table.Items)
        {
            var key = ConfigLoader.KeyText(keyValue.Key);
            var at = where(ConfigLoader.Line(keyValue));
            switch (key)
            {
                case "source":
                    sources = keyValue.Value is StringValueSyntax { Value: { } one } ? new HashSet<string>(StringComparer.Ordinal) { one } : Names(keyValue.Value, key, at, errors);
                    break;
                case "output":
                    output = ConfigLoader.ReadString(keyValue, at, errors);
                    break;
                case "direction":
                    direction = Direction(keyValue.Value, at, errors);
                    break;
                case "vlan":
                    vlan = (int)(ConfigLoader.ReadInteger(keyValue, at, errors, PortVlan.MinVid, PortVlan.MaxVid) ?? 0);
                    break;
                default:
                    errors.Add($"{at}: unknown key '{key}' in [[mirror]]; allowed: {string.Join(", ", MirrorKeys)}");
                    break;
            }
        }

        if (sources is null || sources.Count == 0 || output is null)
        {
            errors.Add($"{where(line)}: [[mirror]] needs source = [\"p1\", ...] and output = \"p9\"");
            return null;
        }

        return new MirrorConfig(sources, output, line) { Direction = direction, Vlan = vlan };
    }

    /// <summary>
    /// Mirrors and the capture name ports of the config that always exist; a mirror's output is not one of its sources.
    /// A qemu-stream listener is a port only while a VM is connected (and a <c>multi</c> one never under its own name),
    /// so a mirror or capture naming one could not be attached when the config is applied: it is refused here, with
    /// its line, before anything is opened.
    /// </summary>
    public static void Validate(SwitchConfig config, string sourceName, List<string> errors)
    {
        var ports = config.Ports.Select(port => port.Name).ToHashSet(StringComparer.Ordinal);
        var listeners = config.Ports.Where(port => port.Settings.ExistsOnlyWhileConnected).Select(port => port.Name).ToHashSet(StringComparer.Ordinal);
        var outputs = new HashSet<string>(StringComparer.Ordinal);
        foreach (var mirror in config.Mirrors)
        {
            var at = mirror.Line > 0 ? $"{sourceName}:{mirror.Line}" : sourceName;
            foreach (var name in mirror.Sources.Append(mirror.Output).Where(name => !ports.Contains(name)))
            {
                errors.Add($"{at}: [[mirror]] names port '{name}', which is not a [[port]] of this config");
            }

            foreach (var name in mirror.Sources.Append(mirror.Output).Where(listeners.Contains))
            {
                errors.Add($"{at}: [[mirror]] names port '{name}', {ListenerHelp}");
            }

            if (mirror.Sources.Contains(mirror.Output))
            {
                errors.Add($"{at}: [[mirror]] output '{mirror.Output}' is also one of its sources; mirror to another port");
            }

            if (!outputs.Add(mirror.Output))
            {
                errors.Add($"{at}: port '{mirror.Output}' is already the output of another [[mirror]]");
            }
        }

        if (config.Capture is { Ports: { } captured } capture)
        {
            foreach (var name in captured.Where(name => !ports.Contains(name)))
            {
                errors.Add($"{sourceName}:{capture.Line}: [capture] names port '{name}', which is not a [[port]] of this config");
            }

            foreach (var name in captured.Where(listeners.Contains))
            {
                errors.Add($"{sourceName}:{capture.Line}: [capture] names port '{name}', {ListenerHelp}");
            }
        }
    }

    private const string ListenerHelp = "a qemu-stream listener: it is a port only while a VM is connected, so nothing could be attached to it now; name ports that always exist (tap, packet, qemu-dgram, qemu-stream with role = \"connect\", vxlan, geneve)";

    private static HashSet<string>? Names(ValueSyntax? value, string key, string at, List<string> errors)
    {
        if (value is ArraySyntax array && array.Items.All(item => item.Value is StringValueSyntax))
        {
            return array.Items.Select(item => ((StringValueSyntax)item.Value!).Value ?? string.Empty).ToHashSet(StringComparer.Ordinal);
        }

        errors.Add($"{at}: {key} must be an array of port names, such as [\"p1\", \"p2\"]");
        return null;
    }

    private static ObserverDirection Direction(ValueSyntax? value, string at, List<string> errors)
    {
        if (value is StringValueSyntax { Value: { } text } && ObserverDirections.TryParse(text, out var direction))
        {
            return direction;
        }

        errors.Add($"{at}: direction must be \"in\", \"out\" or \"both\"");
        return ObserverDirection.Both;
    }
}
