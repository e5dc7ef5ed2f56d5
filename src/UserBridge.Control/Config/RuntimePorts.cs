using Tomlyn.Syntax;
using UserBridge.Linux.Ports;

namespace UserBridge.Control.Config;

/// <summary>
/// The ports a management client other than root may add at runtime (<c>runtime_ports = { interfaces = [...],
/// paths = [...] }</c>); none by default. <c>port add</c> runs with the capabilities the switch kept (a packet port on
/// any interface reads everything on it), so a member of the control group, or the user the switch became, gets only
/// what the operator listed: TAP and packet ports whose interface matches a pattern of <see cref="Interfaces"/>, QEMU
/// socket ports whose path (and a datagram port's remote) matches one of <see cref="Paths"/>. Overlay ports stay
/// root's: they open UDP sockets on any local address and send to any host, which no name pattern can bound.
/// </summary>
/// <remarks>
/// Patterns are globs: <c>*</c> matches any run of characters and <c>?</c> any one, except <c>/</c>, so a path pattern
/// names files in the directories it spells out and never below them. A client's path is taken only in its plain
/// absolute form (no <c>.</c>, <c>..</c> or doubled <c>/</c>) and only when none of its components is a symbolic link:
/// a link would let the name match while the switch binds or connects somewhere else.
/// </remarks>
public sealed class RuntimePorts
{
    private const string InterfacesKey = "interfaces";
    private const string PathsKey = "paths";

    public RuntimePorts(IReadOnlyList<string> interfaces, IReadOnlyList<string> paths)
    {
        Interfaces = interfaces;
        Paths = paths;
    }

    /// <summary>Nothing: only root adds ports (the default).</summary>
    public static RuntimePorts None { get; } = new([], []);

    /// <summary>Glob patterns of the interfaces of <c>tap</c> and <c>packet</c> ports.</summary>
    public IReadOnlyList<string> Interfaces { get; }

    /// <summary>Glob patterns of the socket paths of <c>qemu-stream</c> and <c>qemu-dgram</c> ports.</summary>
    public IReadOnlyList<string> Paths { get; }

    /// <summary>
    /// Why a client restricted to these patterns may not add <paramref name="port"/>; null when it may: every interface
    /// and path its type opens (<see cref="IPortType.Access"/>) must match a pattern, and a type that names none is root's.
    /// </summary>
    public string? Refusal(PortConfig port)
    {
        ArgumentNullException.ThrowIfNull(port);
        var access = port.Type.Access(port.Settings);
        if (access.Count == 0)
        {
            return $"{port.Type.Name} ports are added by root only";
        }

        foreach (var (kind, value) in access)
        {
            var refusal = kind == PortAccessKind.Interface
                ? MatchesAny(Interfaces, value) ? null : $"interface '{value}' matches no pattern of runtime_ports.{InterfacesKey} ({Describe(Interfaces)})"
                : PathRefusal(value);
            if (refusal is not null)
            {
                return refusal;
            }
        }

        return null;
    }

    /// <summary>The patterns as the config spells them, for comparing two configs and for messages.</summary>
    public override string ToString() => $"{InterfacesKey} = [{string.Join(", ", Interfaces)}], {PathsKey} = [{string.Join(", ", Paths)}]";

    /// <summary>
    /// Reads <c>runtime_ports = { interfaces = [...], paths = [...] }</c>, or adds to <paramref name="errors"/> (prefixed by
    /// <paramref name="at"/>, the key's file and line) and returns null.
    /// </summary>
    internal static RuntimePorts? Read(KeyValueSyntax keyValue, string at, List<string> errors)
    {
        if (keyValue.Value is not InlineTableSyntax table)
        {
            errors.Add($"{at}: runtime_ports must be an inline table: runtime_ports = {{ {InterfacesKey} = [\"vm-*\"], {PathsKey} = [\"/run/userbridge/vms/*\"] }}");
            return null;
        }

        var before = errors.Count;
        List<string> interfaces = [], paths = [];
        foreach (var item in table.Items)
        {
            if (item.KeyValue is not { } entry)
            {
                continue;
            }

            var key = ConfigLoader.KeyText(entry.Key);
            var (list, check) = key switch
            {
                InterfacesKey => (interfaces, (Func<string, string?>)InterfacePatternError),
                PathsKey => (paths, PathPatternError),
                _ => (null, null),
            };
            if (list is null || check is null)
            {
                errors.Add($"{at}: unknown key '{key}' in runtime_ports; allowed: {InterfacesKey}, {PathsKey}");
                continue;
            }

            if (entry.Value is not ArraySyntax array || array.Items.Any(element => element.Value is not StringValueSyntax))
            {
                errors.Add($"{at}: runtime_ports.{key} must be an array of strings in double quotes");
                continue;
            }

            foreach (var pattern in array.Items.Select(element => ((StringValueSyntax)element.Value!).Value ?? string.Empty))
            {
                if (check(pattern) is { } error)
                {
                    errors.Add($"{at}: runtime_ports.{key}: \"{pattern}\" {error}");
                }
                else
                {
                    list.Add(pattern);
                }
            }
        }

        return errors.Count == before ? new RuntimePorts(interfaces, paths) : null;
    }

    private static string? InterfacePatternError(string pattern) =>
        pattern.Length is 0 or > 15 || pattern.Any(c => c is '/' or ':' || char.IsWhiteSpace(c))
            ? "is not an interface name pattern; use up to 15 characters without '/', ':' or spaces, with * and ?, such as \"vm-*\""
            : null;

    private static string? PathPatternError(string pattern) =>
        !IsPlainAbsolute(pattern)
            ? "is not an absolute path pattern; use one such as \"/run/userbridge/vms/*\" (no '.', '..' or '//' components)"
            : null;

    /// <summary>Why a restricted client may not use <paramref name="path"/>; null when it may.</summary>
    private string? PathRefusal(string path)
    {
        if (!IsPlainAbsolute(path))
        {
            return $"path '{path}' is not in plain absolute form (no '.', '..' or '//' components)";
        }

        if (!MatchesAny(Paths, path))
        {
            return $"path '{path}' matches no pattern of runtime_ports.{PathsKey} ({Describe(Paths)})";
        }

        return SymbolicLinkIn(path) is { } link ? $"path '{path}' goes through the symbolic link '{link}'" : null;
    }

    /// <summary>The first component of <paramref name="path"/> that is a symbolic link; null when none is.</summary>
    private static string? SymbolicLinkIn(string path)
    {
        for (var end = path.IndexOf('/', 1); ; end = path.IndexOf('/', end + 1))
        {
            var prefix = end < 0 ? path : path[..end];
            if (new FileInfo(prefix).LinkTarget is not null)
            {
                return prefix;
            }

            if (!Path.Exists(prefix))
            {
                // Nothing below a missing component exists: the switch creates the socket there, or fails to.
                return null;
            }

            if (end < 0)
            {
                return null;
            }
        }
    }

    private static bool IsPlainAbsolute(string path) =>
        path.Length > 1 && path[0] == '/' && !path.EndsWith('/')
        && path[1..].Split('/').All(part => part is not ("" or "." or ".."));

    private static bool MatchesAny(IReadOnlyList<string> patterns, string text) => patterns.Any(pattern => Matches(pattern, text));

    /// <summary>Glob matching where <c>*</c> and <c>?</c> never match a <c>/</c>.</summary>
    private static bool Matches(ReadOnlySpan<char> pattern, ReadOnlySpan<char> text)
    {
        // The classic two-pointer match: on a mismatch, go back to the last star and let it take one more character.
        int p = 0, t = 0, star = -1, starText = 0;
        while (t < text.Length)
        {
            if (p < pattern.Length && (pattern[p] == text[t] || (pattern[p] == '?' && text[t] != '/')))
            {
                p++;
                t++;
            }
            else if (p < pattern.Length && pattern[p] == '*')
            {
                star = p++;
                starText = t;
            }
            else if (star >= 0 && text[starText] != '/')
            {
                p = star + 1;
                t = ++starText;
            }
            else
            {
                return false;
            }
        }

        while (p < pattern.Length && pattern[p] == '*')
        {
            p++;
        }

        return p == pattern.Length;
    }

    private static string Describe(IReadOnlyList<string> patterns) => patterns.Count == 0 ? "none are configured" : string.Join(", ", patterns);
}
