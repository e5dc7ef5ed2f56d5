using UserBridge.Core.Frames;
using UserBridge.Core.Learning;

namespace UserBridge.Core.Tests;

/// <summary>The MAC table's key mixing alone: a bijection, a bucket and tag that give the key back, and a good spread.</summary>
public sealed class MacKeyTests
{
    // The smallest table has 2^10 buckets, the largest (2^26 entries, four slots each, four slots a bucket) 2^26.
    private const int FewestBucketBits = 10;
    private const int MostBucketBits = 26;

    private static readonly ulong[] EdgeKeys =
    [
        0, 1, 2, MacKey.Mask, MacKey.Mask - 1, 1UL << 59, 0xFFFF_FFFF_FFFFUL, 0xFFFUL << 48,
        MacKey.Of(MacAddress.Broadcast, 4095), MacKey.Of(Frames.Station(1), 0), MacKey.Of(Frames.Station(1), 1),
    ];

    [Fact]
    public void MixIsUndoneByUnmixAndStaysWithinSixtyBitsForRandomAndEdgeKeys()
    {
        foreach (var key in Keys(100_000))
        {
            var mixed = MacKey.Mix(key);

            Assert.True(mixed <= MacKey.Mask, $"Mix(0x{key:x}) = 0x{mixed:x} has more than 60 bits");
            Assert.Equal(key, MacKey.Unmix(mixed));
            Assert.Equal(key, MacKey.Mix(MacKey.Unmix(key)));
        }
    }

    [Fact]
    public void BucketAndTagGiveTheKeyBackForEveryTableSize()
    {
        for (var bucketBits = FewestBucketBits; bucketBits <= MostBucketBits; bucketBits++)
        {
            foreach (var key in Keys(10_000))
            {
                var (bucket, tag) = MacKey.Split(key, bucketBits);

                Assert.InRange((ulong)bucket, 0UL, (1UL << bucketBits) - 1);
                Assert.True(tag >> (MacKey.Bits - bucketBits) == 0, $"the tag of 0x{key:x} with {bucketBits} bucket bits, 0x{tag:x}, is too wide for its word");
                Assert.Equal(key, MacKey.Join(bucket, tag, bucketBits));
            }
        }
    }

    [Fact]
    public void NeighbouringKeysNeverShareABucketAndATag()
    {
        var seen = new Dictionary<(int Bucket, ulong Tag), ulong>();
        for (uint station = 0; station < 4096; station++)
        {
            foreach (var vlan in (int[])[0, 1, 2, 4095])
            {
                var key = MacKey.Of(Frames.Station(station), vlan);
                var place = MacKey.Split(key, FewestBucketBits);
                Assert.True(seen.TryAdd(place, key), $"0x{key:x} and 0x{seen.GetValueOrDefault(place):x} both in bucket {place.Bucket} with tag 0x{place.Tag:x}");
            }
        }
    }

    [Fact]
    public void MacsThatDifferOnlyInTheNicPartTheVlanOrTheOuiSpreadOverTheBuckets()
    {
        const int Buckets = 1 << FewestBucketBits;
        var stationA = Frames.Station(0xA);
        (string Family, Func<uint, ulong> KeyOf)[] families =
        [
            ("NIC part", i => MacKey.Of(Frames.Station(i), 0)),
            ("VLAN", i => MacKey.Of(stationA, (int)i)),
            ("OUI", i => MacKey.Of(new MacAddress(((ulong)i << 24) | 0x0A), 0)),
        ];
        foreach (var (family, keyOf) in families)
        {
            var hits = new int[Buckets];
            for (uint i = 0; i < Buckets; i++)
            {
                hits[MacKey.Split(keyOf(i), FewestBucketBits).Bucket]++;
            }

            // Random placement hits about 1 - 1/e of the buckets (647 of 1024), and puts at most about 6 keys in one.
            var used = hits.Count(count => count > 0);
            Assert.True(used > 600, $"{Buckets} keys differing only in the {family} fell into {used} of {Buckets} buckets");
            Assert.True(hits.Max() <= 2 * MacTable.SlotsPerBucket, $"{hits.Max()} keys differing only in the {family} fell into one bucket");
        }
    }

    [Fact]
    public void TheVlanSitsAboveTheFortyEightBitsOfTheMac()
    {
        Assert.Equal(0xFFF_FFFF_FFFF_FFFFUL, MacKey.Of(MacAddress.Broadcast, 4095));
        Assert.Equal(0x005_0200_0000_000AUL, MacKey.Of(Frames.Station(0xA), 5));
        Assert.Equal(MacKey.Of(Frames.Station(0xA), 5), MacTable.Key(Frames.Station(0xA), 5));
    }

    /// <summary>The edge keys, then <paramref name="count"/> random 60-bit keys (the same ones every run).</summary>
    private static IEnumerable<ulong> Keys(int count)
    {
        var random = new Random(20240601);
        return EdgeKeys.Concat(Enumerable.Range(0, count).Select(_ => (ulong)random.NextInt64() & MacKey.Mask));
    }
}
