using System.Numerics;
using UserBridge.Core.Learning;

namespace UserBridge.Core.Tests;

/// <summary>
/// Builds table keys that all fall into one bucket of a <see cref="MacTable"/>, by inverting its key mix
/// (<see cref="MacKey.Join"/>): fixing the bucket and varying the tag gives keys of one bucket. Tests that use these check the effect (an eviction) so a wrong guess of the layout fails them.
/// </summary>
internal static class BucketKeys
{
    /// <summary>The bucket bits of a table of <paramref name="capacity"/> (four slots per entry, at least 1024 buckets).</summary>
    public static int BucketBits(int capacity)
    {
        var slots = Math.Max(BitOperations.RoundUpToPowerOf2((uint)capacity) * 4, (uint)MacTable.SlotsPerBucket << 10);
        return BitOperations.Log2(slots / MacTable.SlotsPerBucket);
    }

    /// <summary><paramref name="count"/> distinct keys of bucket <paramref name="bucket"/> of a table of <paramref name="capacity"/>.</summary>
    public static ulong[] InBucket(int capacity, ulong bucket, int count)
    {
        var bits = BucketBits(capacity);
        var keys = new ulong[count];
        for (var i = 0; i < count; i++)
        {
            keys[i] = MacKey.Join((int)bucket, (ulong)(i + 1), bits);
        }

        return keys;
    }
}
