namespace UserBridge.Integration.Tests;

/// <summary><c>userbridge top</c>: a live table on a terminal, plain lines otherwise.</summary>
public sealed class TopTests : IDisposable
{
    private readonly SwitchLab _lab = new();

    public void Dispose() => _lab.Dispose();

    [Fact]
    public void TopRendersATableFrameUnderAPseudoTerminal()
    {
        _lab.StartWithHosts(2, "script");

        // script(1) gives top a pseudo-terminal, as an operator's shell would.
        var run = Shell.Run("script", "-qfec", $"stty cols 160 rows 40; env TERM=xterm-256color {SwitchProcess.ProgramPath} top --count 2 --interval 0.2 --control {_lab.Control}", "/dev/null");

        Assert.True(run.ExitCode == 0, $"top under a terminal exited {run.ExitCode}: {run.Output}{run.Error}");
        Assert.Contains("\u001b[", run.Output, StringComparison.Ordinal);
        Assert.Contains("RX_PPS", run.Output, StringComparison.Ordinal);
        Assert.Contains("sorted by port", run.Output, StringComparison.Ordinal);
        Assert.Contains(_lab.Network.Tap(1), run.Output, StringComparison.Ordinal);
        Assert.Contains(_lab.Network.Tap(2), run.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void TopPrintsPlainBlocksWhenNotATerminal()
    {
        _lab.StartWithHosts(2);
        Assert.Equal(0, _lab.Network.Ping(1, 2, count: 3).ExitCode);

        var output = Cli.Run("top", "--count", "2", "--interval", "0.2", "--sort", "r", "--control", _lab.Control);

        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Count(line => line.StartsWith("PORT ", StringComparison.Ordinal)));
        Assert.Equal(2, lines.Count(line => line.EndsWith(" 2 port(s)", StringComparison.Ordinal)));
        Assert.Matches($@"(?m)^{_lab.Network.Tap(1)}\s+up\s+\d", output);
        Assert.DoesNotContain("\u001b[", output, StringComparison.Ordinal);
    }
}
