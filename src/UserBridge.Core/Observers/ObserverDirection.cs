namespace UserBridge.Core.Observers;

/// <summary>Which copies of a port's traffic a tap takes: what the port received, what it sent, or both.</summary>
[Flags]
public enum ObserverDirection
{
    In = 1,
    Out = 2,
    Both = In | Out,
}

/// <summary>The names used in config files, the CLI and JSON.</summary>
public static class ObserverDirections
{
    public static string Name(ObserverDirection direction) => direction switch
    {
        ObserverDirection.In => "in",
        ObserverDirection.Out => "out",
        _ => "both",
    };

    /// <summary>Parses <c>in</c>, <c>out</c> or <c>both</c>; false for anything else.</summary>
    public static bool TryParse(string? text, out ObserverDirection direction)
    {
        direction = text switch
        {
            "in" => ObserverDirection.In,
            "out" => ObserverDirection.Out,
            "both" => ObserverDirection.Both,
            _ => 0,
        };
        return direction != 0;
    }
}
