using System.Text.RegularExpressions;
using UserBridge.Control.Management;

namespace UserBridge.Control.Tests;

/// <summary>docs/management-protocol.md and the verb table agree: every verb has a section with an example.</summary>
public sealed partial class ProtocolDocsTests
{
    [Fact]
    public void EveryVerbIsDocumentedWithAnExampleAndNoOtherIs()
    {
        var text = File.ReadAllText(Path.Combine(Repository.Root, "docs", "management-protocol.md"));
        var sections = Section().Matches(text).Select(match => match.Groups[1].Value).ToList();

        Assert.Equal(ManagementVerbs.All.Keys.Order(StringComparer.Ordinal), sections.Order(StringComparer.Ordinal));
        foreach (var verb in ManagementVerbs.All.Keys)
        {
            Assert.Contains($"→ {{\"verb\":\"{verb}\"", text, StringComparison.Ordinal);
        }
    }

    [GeneratedRegex("^## `([a-z ]+)`$", RegexOptions.Multiline)]
    private static partial Regex Section();
}
