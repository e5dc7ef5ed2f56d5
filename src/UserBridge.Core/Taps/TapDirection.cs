namespace UserBridge.Core.Taps;

/// <summary>Which copies of a port's traffic a tap takes: what the port received, what it sent, or both.</summary>
[Flags]
public enum TapDirection
{
    In = 1,
    Out = 2,
    Both = In | Out,
}

/// <summary>The names used in config files, the CLI and JSON.</summary>
public static class TapDirections
{
    public static string Name(TapDirection direction) => direction switch
    {
        TapDirection.In => "in",
        TapDirection.Out => "out",
        _ => "both",
    };

    /// <summary>Parses <c>in</c>, <c>out</c> or <c>both</c>; false for anything else.</summary>
    public static bool TryParse(string? text, out TapDirection direction)
    {
        direction = text switch
        {
            "in" => TapDirection.In,
            "out" => TapDirection.Out,
            "both" => TapDirection.Both,
            _ => 0,
        };
        return direction != 0;
    }
}
