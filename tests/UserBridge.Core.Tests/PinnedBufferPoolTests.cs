namespace UserBridge.Core.Tests;

public sealed class PinnedBufferPoolTests
{
    [Fact]
    public void ARentedArrayOfAnUnusualLengthComesBackForTheNextRentOfThatLengthOnly()
    {
        const int length = 12_345;
        var first = PinnedBufferPool.Rent(length);
        Assert.Equal(length, first.Length);

        PinnedBufferPool.Return(first);

        Assert.NotSame(first, PinnedBufferPool.Rent(length + 1));
        Assert.Same(first, PinnedBufferPool.Rent(length));
        Assert.NotSame(first, PinnedBufferPool.Rent(length));
    }
}
