namespace UserBridge.Cli.Commands;

/// <summary>One example per command, for <c>userbridge --help</c>.</summary>
internal static class Examples
{
    public static IReadOnlyList<(string Command, string Example)> All { get; } =
    [
        ("run", "userbridge run --config /etc/userbridge/ub0.toml        # or: --tap ub-p1 --tap ub-p2"),
        ("fdb", "userbridge fdb show --port p1 -j                       # fdb add|del|flush change it"),
        ("port", "userbridge port add vm1 --type packet --interface vm1  # port del|set|show"),
        ("vlan", "userbridge vlan show --vlan 10"),
        ("stats", "userbridge stats --port p1"),
        ("monitor", "userbridge monitor -j                                  # learned, moved, aged, port down..."),
        ("top", "userbridge top                                         # live rates; q quits"),
        ("reload", "userbridge reload                                      # or: kill -HUP, systemctl reload"),
        ("capture", "userbridge capture -w - | wireshark -k -i -"),
        ("mirror", "userbridge mirror add --source p1 --output p9          # mirror del|show"),
        ("extcap", "userbridge extcap install                              # the switch in Wireshark's interface list"),
        ("lab", "userbridge lab --once                                  # two namespaces ping through a switch"),
        ("version", "userbridge version"),
    ];

    public static string Text => string.Join('\n', All.Select(example => $"  {example.Example}"));
}
