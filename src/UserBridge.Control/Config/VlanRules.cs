using System.Globalization;
using UserBridge.Core.Ports;
using UserBridge.Linux.Ports;

namespace UserBridge.Control.Config;

/// <summary>The 802.1Q keys of a port: <c>mode</c>, <c>vlan</c>, <c>allowed</c>, <c>native</c>, <c>tpid</c>.</summary>
public static class VlanRules
{
    public const string Access = "access";
    public const string Trunk = "trunk";
    public const string Dot1qTunnel = "dot1q-tunnel";

    private const string VidHelp = "a VLAN ID from 1 to 4094";

    public static bool IsVlanMode(string word) => word is Access or Trunk or Dot1qTunnel;

    /// <summary>Builds the port's VLAN settings, or returns null when it has none (errors go to <paramref name="errors"/>).</summary>
    public static PortVlan? Build(Dictionary<string, PortSetting> values, Func<int, string> where, List<string> errors)
    {
        ArgumentNullException.ThrowIfNull(values);
        ArgumentNullException.ThrowIfNull(where);
        ArgumentNullException.ThrowIfNull(errors);
        var modeWord = values.TryGetValue("mode", out var modeSetting) && modeSetting.Value is string word && !word.All(char.IsAsciiDigit) ? word : null;
        var hasVlanKey = values.ContainsKey("vlan") || values.ContainsKey("allowed") || values.ContainsKey("native") || values.ContainsKey("tpid");
        if (modeWord is null && !hasVlanKey)
        {
            return null;
        }

        var mode = modeWord ?? Access;
        if (!IsVlanMode(mode))
        {
            errors.Add($"{where(modeSetting.Line)}: mode \"{mode}\" is not known; allowed: \"access\" (default), \"trunk\", \"dot1q-tunnel\"");
            return null;
        }

        var before = errors.Count;
        foreach (var key in mode == Trunk ? new[] { "vlan" } : ["allowed", "native", "tpid"])
        {
            if (values.TryGetValue(key, out var misplaced))
            {
                errors.Add($"{where(misplaced.Line)}: {key} does not apply to mode = \"{mode}\"; {(mode == Trunk ? "a trunk takes allowed, native and tpid" : $"mode = \"{mode}\" takes vlan")}");
            }
        }

        if (mode != Trunk)
        {
            var vid = values.TryGetValue("vlan", out var vlanSetting) ? Vid(vlanSetting, where, errors) : 1;
            if (errors.Count > before || vid is null)
            {
                return null;
            }

            return mode == Access ? PortVlan.Access(vid.Value) : PortVlan.Dot1qTunnel(vid.Value);
        }

        var allowed = values.TryGetValue("allowed", out var allowedSetting) ? Ranges(allowedSetting, where, errors) : Enumerable.Range(PortVlan.MinVid, PortVlan.MaxVid).ToList();
        var native = values.TryGetValue("native", out var nativeSetting) ? Vid(nativeSetting, where, errors) : 0;
        var tpid = values.TryGetValue("tpid", out var tpidSetting) ? Tpid(tpidSetting, where, errors) : PortVlan.TpidDot1q;
        if (allowed is not null && native is > 0 && !allowed.Contains(native.Value))
        {
            errors.Add($"{where(nativeSetting.Line)}: native = {native} is not in allowed; add it to allowed or choose another native VLAN");
        }

        return errors.Count > before || allowed is null || native is null || tpid is null ? null : PortVlan.Trunk(allowed, native.Value, tpid.Value);
    }

    /// <summary>Parses "10,20,100-199" into VLAN IDs; null (with errors) when malformed.</summary>
    public static List<int>? ParseRanges(string text, out string? error)
    {
        ArgumentNullException.ThrowIfNull(text);
        error = null;
        var vids = new List<int>();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries))
        {
            var bounds = part.Split('-', StringSplitOptions.TrimEntries);
            if (bounds.Length is 0 or > 2
                || !int.TryParse(bounds[0], NumberStyles.None, CultureInfo.InvariantCulture, out var first)
                || !int.TryParse(bounds[^1], NumberStyles.None, CultureInfo.InvariantCulture, out var last)
                || first > last || first < PortVlan.MinVid || last > PortVlan.MaxVid)
            {
                error = $"\"{part}\" is not {VidHelp} or a range FIRST-LAST of them";
                return null;
            }

            vids.AddRange(Enumerable.Range(first, last - first + 1));
        }

        return vids;
    }

    private static List<int>? Ranges(PortSetting setting, Func<int, string> where, List<string> errors)
    {
        if (setting.Value is not string text)
        {
            errors.Add($"{where(setting.Line)}: {setting.Key} must be a string in double quotes");
            return null;
        }

        var vids = ParseRanges(text, out var error);
        if (vids is null)
        {
            errors.Add($"{where(setting.Line)}: allowed = \"{text}\": {error}; write e.g. \"10,20,100-199\"");
        }

        return vids;
    }

    private static int? Vid(PortSetting setting, Func<int, string> where, List<string> errors)
    {
        if (setting.Value is long vid and >= PortVlan.MinVid and <= PortVlan.MaxVid)
        {
            return (int)vid;
        }

        errors.Add($"{where(setting.Line)}: {setting.Key} must be {VidHelp} (an integer, no quotes)");
        return null;
    }

    private static ushort? Tpid(PortSetting setting, Func<int, string> where, List<string> errors)
    {
        var value = setting.Value switch
        {
            long number => number,
            string text when text.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
                && long.TryParse(text.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var hex) => hex,
            _ => -1,
        };
        if (value is PortVlan.TpidDot1q or PortVlan.TpidDot1ad)
        {
            return (ushort)value;
        }

        errors.Add($"{where(setting.Line)}: tpid must be \"0x8100\" (802.1Q) or \"0x88a8\" (802.1ad, QinQ S-tag)");
        return null;
    }
}
