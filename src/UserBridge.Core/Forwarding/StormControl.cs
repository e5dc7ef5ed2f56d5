
namespace UserBridge.Core.Forwarding;

/// <summary>Flood rate limits of one port, in frames per second; 0: no limit (<c>storm = { ... }</c>).</summary>
public readonly record struct StormLimits(int BroadcastPps, int MulticastPps, int UnknownUnicastPps)
{
    public bool Any => BroadcastPps > 0 || MulticastPps > 0 || UnknownUnicastPps > 0;
}

/// <summary>
/// Storm control of one port: a token bucket per kind of flood (broadcast, multicast, unknown unicast), each allowing its
/// rate per second with a burst of one second's worth; frames beyond it are dropped by the engine and counted.
/// </summary>
/// <remarks>
/// Written only by the worker that reads the port (plain fields, no lock or atomic per frame). A multi-queue port's
/// workers share it: their updates can race, which can let a burst through a few frames over the limit or refuse a few
/// under it, never corrupt it (64-bit fields are written whole).
/// </remarks>
public sealed class StormControl(StormLimits limits)
{
    // Tokens are kept in thousandths of a frame, so that rates under 1,000 per second refill every millisecond.
    private const long FrameCost = 1000;

    private Bucket _broadcast = Bucket.Full(limits.BroadcastPps);
    private Bucket _multicast = Bucket.Full(limits.MulticastPps);
    private Bucket _unknownUnicast = Bucket.Full(limits.UnknownUnicastPps);

    public StormLimits Limits { get; } = limits;

    /// <summary>The storm control <paramref name="limits"/> ask for, or null when they limit nothing.</summary>
    public static StormControl? For(StormLimits limits) => limits.Any ? new StormControl(limits) : null;

    /// <summary>Takes a token for a flood of <paramref name="reason"/> at <paramref name="nowMs"/>; false: over the limit, drop it.</summary>
    public bool Allow(FloodReason reason, long nowMs) => reason switch
    {
        FloodReason.Broadcast => Take(ref _broadcast, Limits.BroadcastPps, nowMs),
        FloodReason.Multicast => Take(ref _multicast, Limits.MulticastPps, nowMs),
        _ => Take(ref _unknownUnicast, Limits.UnknownUnicastPps, nowMs),
    };

    private static bool Take(ref Bucket bucket, int ratePps, long nowMs)
    {
        if (ratePps <= 0)
        {
            return true;
        }

        // A second refills a bucket whole: clamping the gap keeps the product far from overflowing.
        var elapsed = Math.Min(nowMs - bucket.LastMs, 1000);
        if (elapsed > 0)
        {
            bucket.Tokens = Math.Min(ratePps * FrameCost, bucket.Tokens + (elapsed * ratePps));
            bucket.LastMs = nowMs;
        }

        if (bucket.Tokens < FrameCost)
        {
            return false;
        }

        bucket.Tokens -= FrameCost;
        return true;
    }

    private struct Bucket
    {
        public long Tokens;
        public long LastMs;

        public static Bucket Full(int ratePps) => new() { Tokens = ratePps * FrameCost };
    }
}
