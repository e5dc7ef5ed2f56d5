using UserBridge.Core.Buffers;
using UserBridge.Core.Logging;
using UserBridge.Core.Ports;
using UserBridge.Core.Switching;

namespace UserBridge.Core.Workers;

/// <summary>
/// A forwarding thread: reads batches into pinned pooled buffers and runs the engine over each frame against the
/// snapshot current at the start of the batch. No lock, no allocation and no exception per frame. A
/// <see cref="PortWorker"/> serves one port (or one queue); a <see cref="PollWorker"/> serves several.
/// </summary>
internal abstract class BatchWorker
{
    public const int BatchSize = 32;

    /// <summary>
    /// From this many entries on, the table outgrows the processor's L2 cache: a batch's entries are prefetched together
    /// before its frames are decided, so that their cache misses overlap.
    /// </summary>
    public const int PrefetchEntries = 16384;

    /// <summary>A port whose worker crashes this many times within <see cref="CrashWindow"/> is taken down instead of served on.</summary>
    public const int CrashesBeforeDown = 3;

    public static readonly TimeSpan CrashWindow = TimeSpan.FromMinutes(1);

    private readonly Thread _thread;

    // When each port's recent crashes happened (Environment.TickCount64), by port index. Touched only on a crash.
    private readonly Dictionary<int, Queue<long>> _crashes = [];
    private volatile bool _stopping;

    // Odd while the worker is inside a batch (holding a snapshot), even between batches. Lets the control plane
    // wait until no worker can still use a port it removed from the snapshot (see Bridge.WaitForWorkers).
    private long _batchSequence;

    protected BatchWorker(Bridge bridge, string threadName)
    {
        Bridge = bridge;
        _thread = new Thread(Run) { IsBackground = true, Name = threadName };
    }

    protected Bridge Bridge { get; }

    protected bool Stopping => _stopping;

    public void Start() => _thread.Start();

    /// <summary>Stops the worker and waits for it: a worker blocked on a quiet port is woken, not abandoned.</summary>
    public bool Stop(TimeSpan timeout)
    {
        _stopping = true;
        Wake();
        return _thread.Join(timeout);
    }

    /// <summary>
    /// Returns when this worker has finished the batch it was in (if any) when called: from then on it can only
    /// use snapshots published before the call returned, and touches no port it was told to forget before the call.
    /// </summary>
    public void WaitForBatchBoundary()
    {
        if (Thread.CurrentThread == _thread)
        {
            return;
        }

        var sequence = Volatile.Read(ref _batchSequence);
        if ((sequence & 1) == 0 || !_thread.IsAlive)
        {
            return;
        }

        var spinner = default(SpinWait);
        while (Volatile.Read(ref _batchSequence) == sequence && _thread.IsAlive)
        {
            spinner.SpinOnce();
        }
    }

    /// <summary>Makes the thread's blocking wait return.</summary>
    protected abstract void Wake();

    /// <summary>The thread's loop, until <see cref="Stopping"/>.</summary>
    protected abstract void Loop(PacketBuffer[] batch, WorkerContext context);

    /// <summary>
    /// Marks the start of a batch. A full fence: the odd sequence must be visible before the snapshot is read, or the
    /// control plane could see "between batches" while this batch already holds the old snapshot.
    /// </summary>
    protected void EnterBatch() => Interlocked.Increment(ref _batchSequence);

    /// <summary>Marks the end of a batch. Release: every send of the batch happens before the even sequence is seen.</summary>
    protected void LeaveBatch() => Volatile.Write(ref _batchSequence, _batchSequence + 1);

    /// <summary>
    /// Called on the worker's thread when serving <paramref name="port"/> threw something other than a port failure: a
    /// bug. Logs it with the exception; true when the worker should go on serving the port (the crash is counted as a
    /// restart), false once it is the <see cref="CrashesBeforeDown"/>th within <see cref="CrashWindow"/> (the caller
    /// then takes the port down as failed). The other ports of the worker are never affected.
    /// </summary>
    protected bool Recover(IPort port, int portIndex, Exception exception)
    {
        var now = Environment.TickCount64;
        if (!_crashes.TryGetValue(portIndex, out var times))
        {
            _crashes[portIndex] = times = new Queue<long>();
        }

        while (times.Count > 0 && now - times.Peek() > (long)CrashWindow.TotalMilliseconds)
        {
            times.Dequeue();
        }

        times.Enqueue(now);
        var restart = times.Count < CrashesBeforeDown;
        Log.WorkerCrashed(Bridge.Logger, port.Name, restart ? "serving the port again" : $"{CrashesBeforeDown} crashes within {CrashWindow.TotalSeconds:0} s, taking the port down", exception);
        if (restart && Bridge.Snapshot.TryGetPort(portIndex, out var slot))
        {
            slot.Counters.CountWorkerRestart();
        }

        return restart;
    }

    /// <summary>Ends the batch a crash interrupted, so that the control plane never waits on it.</summary>
    protected void LeaveBatchAfterCrash()
    {
        if ((Volatile.Read(ref _batchSequence) & 1) != 0)
        {
            LeaveBatch();
        }
    }

    /// <summary>Forwards <paramref name="count"/> frames that <paramref name="port"/> received, with one clock reading.</summary>
    protected void Forward(IPort port, int portIndex, BridgeSnapshot snapshot, PacketBuffer[] batch, int count, WorkerContext context)
    {
        if (!OwnsIndex(snapshot, port, portIndex))
        {
            return;
        }

        var engine = Bridge.Engine;
        var table = engine.MacTable;
        var nowMs = table.NowMs;
        if (table.Count >= PrefetchEntries)
        {
            for (var i = 0; i < count; i++)
            {
                engine.Prefetch(snapshot, portIndex, batch[i].Frame);
            }
        }

        for (var i = 0; i < count; i++)
        {
            var buffer = batch[i];
            engine.Process(snapshot, portIndex, buffer.Frame, buffer.Offload, context, nowMs);
        }
    }

    /// <summary>
    /// False once the port was removed: its index may already belong to a new port, whose counters and learning must
    /// not see the old port's last frames.
    /// </summary>
    private static bool OwnsIndex(BridgeSnapshot snapshot, IPort port, int portIndex) =>
        snapshot.TryGetPort(portIndex, out var slot) && ReferenceEquals(slot.Port, port);

    /// <summary>Runs the host's start-up hook (CPU pinning); a failure there is logged, and the thread forwards anyway.</summary>
    private void Starting()
    {
        try
        {
            Bridge.Options.WorkerStarting?.Invoke();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Log.WorkerStartingFailed(Bridge.Logger, _thread.Name, ex.Message);
        }
    }

    private void Run()
    {
        var batch = Bridge.BufferPool.RentBatch(BatchSize);
        WorkerThread.Assign();
        using var context = new WorkerContext();
        try
        {
            Starting();
            Loop(batch, context);
        }
        finally
        {
            Bridge.BufferPool.ReturnBatch(batch);
        }
    }
}
