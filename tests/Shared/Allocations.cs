namespace UserBridge.Tests.Shared;

/// <summary>Measures what a piece of steady-state work allocates on the calling thread.</summary>
internal static class Allocations
{
    private const int Attempts = 5;

    /// <summary>
    /// Runs <paramref name="work"/> <paramref name="rounds"/> times per attempt and returns the fewest bytes an
    /// attempt allocated. The runtime itself may allocate once on the thread while the work runs (type and
    /// thread-static initialisation when the JIT promotes a method to its next tier under load); that happens
    /// in one attempt, not in all, whereas an allocation made by the work itself shows in every attempt.
    /// </summary>
    public static long PerAttempt(Action work, int rounds)
    {
        var fewest = long.MaxValue;
        for (var attempt = 0; attempt < Attempts && fewest != 0; attempt++)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var round = 0; round < rounds; round++)
            {
                work();
            }

            fewest = Math.Min(fewest, GC.GetAllocatedBytesForCurrentThread() - before);
        }

        return fewest;
    }
}
