using UserBridge.Core.Buffers;

namespace UserBridge.Core.Ports;

/// <summary>
/// A port with several receive queues (a multi-queue TAP): the bridge runs one worker per queue, all forwarding as
/// the same port. <see cref="IPort.Wake"/> wakes every queue; <see cref="IPort.Send"/> may pick any queue (by
/// <see cref="WorkerThread.Index"/>, so that one worker's frames keep their order).
/// </summary>
public interface IMultiQueuePort : IPort
{
    int QueueCount { get; }

    /// <summary>As <see cref="IPort.Receive"/>, from queue <paramref name="queue"/> (0 to <see cref="QueueCount"/> - 1).</summary>
    int Receive(PacketBuffer[] batch, int queue);
}

/// <summary>The number of the worker running on this thread (0 elsewhere): lets a port spread its sends over queues.</summary>
public static class WorkerThread
{
    [ThreadStatic]
    private static int t_index;

    private static int s_last;

    public static int Index => t_index;

    internal static void Assign() => t_index = Interlocked.Increment(ref s_last);
}
