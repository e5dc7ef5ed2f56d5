using UserBridge.Core.Buffers;

namespace UserBridge.Core.Tests;

public sealed class PortBufferPoolTests
{
    [Fact]
    public void ARentedArrayOfAnUnusualLengthComesBackForTheNextRentOfThatLengthOnly()
    {
        const int length = 12_345;
        var first = PortBufferPool.Rent(length);
        Assert.Equal(length, first.Length);

        PortBufferPool.Return(first);

        Assert.NotSame(first, PortBufferPool.Rent(length + 1));
        Assert.Same(first, PortBufferPool.Rent(length));
        Assert.NotSame(first, PortBufferPool.Rent(length));
    }

    [Fact]
    public void AFreeListForgetsOnlyWhatSatUnusedThroughAWholePeriod()
    {
        var list = new FreeList<string>();
        var dropped = new List<string>();
        list.Push("a");
        list.Push("b");
        list.Push("c");
        list.TrimIdle(dropped.Add);
        Assert.Empty(dropped);

        // One taken and given back: two of three sat unused through the period.
        Assert.True(list.TryPop(out var taken));
        list.Push(taken);
        list.TrimIdle(dropped.Add);
        Assert.Equal(2, dropped.Count);
        Assert.Equal(1, list.Count);

        // Nothing taken in a whole period: the last one goes too.
        list.TrimIdle(dropped.Add);
        Assert.Equal(0, list.Count);
        Assert.False(list.TryPop(out _));
    }
}
