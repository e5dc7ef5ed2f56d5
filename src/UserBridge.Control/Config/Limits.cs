namespace UserBridge.Control.Config;

/// <summary>
/// The ranges of the numbers that the config file, a request and the command-line flags share, in one place: each is
/// checked where it is read, with an error that names the key or flag and the range, so that no value reachable from
/// outside can reach a timer, a buffer size or a <see cref="TimeSpan"/> that would throw. Ranges that belong to one rule
/// (VLAN IDs, MTUs, queues, overlay fields) stay with it, next to the value they bound.
/// </summary>
public static class Limits
{
    /// <summary>
    /// The longest duration anywhere (aging, a capture's duration, <c>run --stats</c>, <c>top --interval</c>): 1,000,000 s,
    /// about 11.6 days. It is 802.1D's upper bound for the ageing time (10 s to 1,000,000 s), and it stays below what
    /// .NET's waits and timers take (24.8 days as milliseconds in an <see cref="int"/>), so no duration can overflow one.
    /// </summary>
    public const long MaxDurationSeconds = 1_000_000;

    /// <summary>The shortest aging time (the MAC table takes no less) and capture duration.</summary>
    public const long MinDurationSeconds = 1;

    /// <summary>The most bytes a capture keeps of a frame: tcpdump's MAXIMUM_SNAPLEN, which holds a 64 KiB GSO frame.</summary>
    public const int MaxSnapLength = 262_144;

    /// <summary>The fewest bytes a capture keeps of a frame: an Ethernet header with two VLAN tags and an IPv6 header.</summary>
    public const int MinSnapLength = 64;

    /// <summary>The smallest rotation size: one block of a busy capture would otherwise be a file of its own.</summary>
    public const long MinRotateBytes = 1024;

    /// <summary>The largest rotation size, 1 TiB: beyond it, rotation would never happen on any real disk.</summary>
    public const long MaxRotateBytes = 1L << 40;

    /// <summary>The most files a rotating capture keeps.</summary>
    public const int MaxKeepFiles = 100_000;

    /// <summary>The largest storm-control rate, in frames per second: more than a 100 Gbit/s link carries.</summary>
    public const int MaxStormPps = 100_000_000;

    /// <summary>The largest MAC table, and so the largest per-port MAC limit: 2^26 entries (4 GiB of table slots).</summary>
    public const int MaxMacTableSize = 1 << 26;

    /// <summary>"an integer from MIN to MAX", the wording of every integer range in errors.</summary>
    public static string IntegerRange(long min, long max) => $"an integer from {min} to {max}";

    /// <summary>What an error adds when a float stood where an integer was wanted.</summary>
    public const string NotAFloat = ", written without a decimal point or exponent";
}
