namespace UserBridge.Integration.Tests;

/// <summary>What a guest's test script left behind: its exit code and the serial console, one line per entry.</summary>
internal sealed record GuestResult(int ExitCode, IReadOnlyList<string> Console)
{
    /// <summary>The rest of the first console line that starts with <paramref name="key"/> and a space, if any.</summary>
    public string? ValueOf(string key) =>
        Console.FirstOrDefault(line => line.StartsWith(key + " ", StringComparison.Ordinal))?[(key.Length + 1)..];

    public override string ToString() => $"rc={ExitCode}, console:\n{string.Join('\n', Console)}";
}
