using System.Runtime.CompilerServices;
using UserBridge.Core.Frames;

namespace UserBridge.Core.Learning;

/// <summary>
/// The MAC table's key, and where the table puts it. A key is a (VLAN, MAC) pair as one 60-bit number,
/// <c>mac | vid &lt;&lt; 48</c> (VDE's <c>extmac</c>).
/// </summary>
/// <remarks>
/// The table does not store keys. It scrambles each with <see cref="Mix"/>, a bijection on 60-bit numbers (multiply by
/// odd constants and xor-shift, each step invertible modulo 2^60); the low <c>bucketBits</c> of the mixed key pick the
/// bucket and the remaining high bits, the tag, are all the bucket stores (<see cref="Split"/>). Because the mix can
/// be undone (<see cref="Unmix"/>), bucket and tag give the key back exactly (<see cref="Join"/>): a quotient table,
/// which leaves room in one 64-bit word for the tag, the port index and the flags. The multiplications carry every
/// input bit into the high bits and the xor-shifts bring the high bits down into the bucket, so keys that differ only
/// in a few bits (consecutive NICs of one vendor, one station in neighbouring VLANs) spread over all buckets instead
/// of filling a few.
/// </remarks>
internal static class MacKey
{
    public const int Bits = 60;

    public const ulong Mask = (1UL << Bits) - 1;

    private const ulong Multiplier1 = 0x9E37_79B9_7F4A_7C15UL;
    private const ulong Multiplier2 = 0xBF58_476D_1CE4_E5B9UL;
    private static readonly ulong Inverse1 = ModularInverse(Multiplier1);
    private static readonly ulong Inverse2 = ModularInverse(Multiplier2);

    /// <summary>The key of <paramref name="mac"/> in VLAN <paramref name="vlan"/> (0 to 4095).</summary>
    public static ulong Of(MacAddress mac, int vlan) => mac.Value | ((ulong)(uint)vlan << 48);

    /// <summary>The bucket (of <c>2^bucketBits</c>) that holds <paramref name="key"/>, and the tag stored for it there.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (int Bucket, ulong Tag) Split(ulong key, int bucketBits)
    {
        var mixed = Mix(key);
        return ((int)(mixed & ((1UL << bucketBits) - 1)), mixed >> bucketBits);
    }

    /// <summary>The key that <see cref="Split"/> put in <paramref name="bucket"/> with <paramref name="tag"/>.</summary>
    public static ulong Join(int bucket, ulong tag, int bucketBits) => Unmix((tag << bucketBits) | (uint)bucket);

    /// <summary>The bijection on 60-bit keys that <see cref="Split"/> scrambles them with.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Mix(ulong key)
    {
        var x = (key * Multiplier1) & Mask;
        x ^= x >> 31;
        x = (x * Multiplier2) & Mask;
        x ^= x >> 29;
        return x;
    }

    /// <summary>The inverse of <see cref="Mix"/>: each step undone in reverse order.</summary>
    public static ulong Unmix(ulong mixed)
    {
        // x ^= x >> 29 on 60 bits is undone by xoring in the shifts by 29 and 58 (the third, by 87, is past the top).
        var x = mixed ^ (mixed >> 29) ^ (mixed >> 58);
        x = (x * Inverse2) & Mask;

        // x ^= x >> 31 is its own inverse on 60 bits: the shift by 62 is past the top.
        x ^= x >> 31;
        return (x * Inverse1) & Mask;
    }

    private static ulong ModularInverse(ulong odd)
    {
        // Newton's iteration doubles the correct low bits each step: 5 steps reach 64 bits.
        var inverse = odd;
        for (var i = 0; i < 5; i++)
        {
            inverse *= 2 - (odd * inverse);
        }

        return inverse;
    }
}
