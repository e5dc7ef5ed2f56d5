using System.Text;
using UserBridge.Control.Config;
using UserBridge.Linux.Ports;

namespace UserBridge.Control.Tests;

/// <summary>
/// The README's table of port keys is the registry's (<see cref="PortTypes"/>, <see cref="PortRules"/>): a type or key
/// added, changed or removed in the code fails this test until the README says the same; the failure prints the table to
/// paste.
/// </summary>
public sealed class PortKeyTableTests
{
    private const string Start = "<!-- port keys: from the port types' registry; PortKeyTableTests checks it -->";
    private const string End = "<!-- end of port keys -->";

    [Fact]
    public void TheReadmesPortKeyTableIsTheRegistrys()
    {
        var readme = File.ReadAllText(Path.Combine(Repository.Root, "README.md"));
        var start = readme.IndexOf(Start, StringComparison.Ordinal);
        var end = readme.IndexOf(End, StringComparison.Ordinal);
        Assert.True(start >= 0 && end > start, $"README.md has no port key table between \"{Start}\" and \"{End}\"");

        var table = readme[(start + Start.Length)..end].Trim();

        Assert.True(table == Expected(), $"README.md's port key table is not the registry's; it should read:\n{Expected()}");
    }

    [Fact]
    public void EveryTypeHasADescriptionAndEveryKeyHelpAndNoKeyIsTwiceInAType()
    {
        foreach (var type in PortTypes.All)
        {
            Assert.False(string.IsNullOrWhiteSpace(type.Description), $"{type.Name} has no description");
            Assert.All(type.Keys, key => Assert.False(string.IsNullOrWhiteSpace(key.Help), $"{type.Name}.{key.Name} has no help"));
            Assert.Equal(type.Keys.Count, type.Keys.Select(key => key.Name).Distinct(StringComparer.Ordinal).Count());
        }
    }

    /// <summary>One row per key of each type, then the keys every port has.</summary>
    private static string Expected()
    {
        var table = new StringBuilder("| type | key | what it is |\n|---|---|---|\n");
        foreach (var type in PortTypes.All)
        {
            table.Append($"| `{type.Name}` | | {type.Description} |\n");
            foreach (var key in type.Keys)
            {
                table.Append($"| | `{key.Name}` | {Escape(key.Help)} |\n");
            }
        }

        table.Append("| every port | `name` | the port's name (default: the type's: the interface, the socket's file name, the type and VNI) |\n");
        table.Append("| | `type` | one of the types above (default `tap`) |\n");
        foreach (var key in PortRules.VlanKeys.Concat(PortRules.GuardKeys))
        {
            table.Append($"| | `{key.Name}` | {Escape(key.Help)} |\n");
        }

        return table.ToString().TrimEnd();
    }

    private static string Escape(string help) => help.Replace("|", "\\|", StringComparison.Ordinal);
}
