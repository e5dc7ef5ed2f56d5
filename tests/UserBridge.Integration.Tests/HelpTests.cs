using System.Text.RegularExpressions;

namespace UserBridge.Integration.Tests;

public sealed partial class HelpTests
{
    [Fact]
    public void HelpListsEveryCommandWithAnExample()
    {
        var help = Cli.Run("--help");

        var commands = CommandLine().Matches(help[help.IndexOf("Commands:", StringComparison.Ordinal)..]).Select(match => match.Groups[1].Value).ToList();
        Assert.True(commands.Count >= 13, $"too few commands listed:\n{help}");
        foreach (var command in commands)
        {
            Assert.Matches($@"(?m)^\s+userbridge {command}\b", help);
        }

        Assert.Contains("monitor", commands);
        Assert.Contains("top", commands);
        Assert.Contains("reload", commands);
    }

    [GeneratedRegex(@"(?m)^  ([a-z]+)\b")]
    private static partial Regex CommandLine();
}
