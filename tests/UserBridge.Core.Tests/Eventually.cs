using System.Diagnostics;

namespace UserBridge.Core.Tests;

/// <summary>Waits for a condition that worker threads make true, with an explicit deadline and a message.</summary>
internal static class Eventually
{
    public static readonly TimeSpan DefaultDeadline = TimeSpan.FromSeconds(10);

    public static void True(Func<bool> condition, string awaited, TimeSpan? deadline = null)
    {
        var limit = deadline ?? DefaultDeadline;
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > limit)
            {
                Assert.Fail($"timed out after {limit.TotalSeconds:0.#} s waiting for {awaited}");
            }

            Thread.Sleep(1);
        }
    }
}
