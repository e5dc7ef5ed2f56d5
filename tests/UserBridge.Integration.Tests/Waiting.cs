namespace UserBridge.Integration.Tests;

internal static class Waiting
{
    /// <summary>Polls <paramref name="condition"/> until it holds; fails the test after <paramref name="deadline"/>, naming <paramref name="what"/>.</summary>
    public static void Until(Func<bool> condition, string what, TimeSpan deadline, int pollMilliseconds = 50)
    {
        var end = DateTime.UtcNow + deadline;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < end, $"timed out after {deadline} waiting for {what}");
            Thread.Sleep(pollMilliseconds);
        }
    }
}
