namespace UserBridge.Linux.Ports;

/// <summary>
/// A key a port type takes, with what it means: the CLI's <c>port add</c> options and the README's key table list these.
/// A <see cref="PortKeyKind.Number"/> has its range (<see cref="Min"/> to <see cref="Max"/>), which the CLI checks too.
/// </summary>
public sealed record PortKey(string Name, string Help, PortKeyKind Kind = PortKeyKind.Text, long Min = 0, long Max = long.MaxValue);

/// <summary>What a <see cref="PortKey"/>'s value is: how the CLI takes it.</summary>
public enum PortKeyKind
{
    /// <summary>A string.</summary>
    Text,

    /// <summary>true or false (a bare option in the CLI).</summary>
    Flag,

    /// <summary>An integer.</summary>
    Number,

    /// <summary>A list of strings (<c>["a", "b"]</c> in the file, <c>a,b</c> in the CLI).</summary>
    List,

    /// <summary>An inline table (<c>storm = { ... }</c>): the config file and requests only.</summary>
    Table,
}
