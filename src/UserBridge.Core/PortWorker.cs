namespace UserBridge.Core;

/// <summary>
/// The thread that owns a port's receive side: reads a batch into pinned pooled buffers, then runs the
/// engine over each frame against the snapshot current at the start of the batch. No lock, no allocation
/// and no exception per frame; a port failure ends only this worker.
/// </summary>
internal sealed class PortWorker
{
    public const int BatchSize = 32;

    /// <summary>
    /// From this many entries on, the table outgrows the processor's L2 cache: a batch's entries are prefetched together
    /// before its frames are decided, so that their cache misses overlap.
    /// </summary>
    public const int PrefetchEntries = 16384;

    private readonly Bridge _bridge;
    private readonly IPort _port;
    private readonly int _portIndex;
    private readonly int _queue;
    private readonly Thread _thread;
    private volatile bool _stopping;

    // Odd while the worker is inside a batch (holding a snapshot), even between batches. Lets the control plane
    // wait until no worker can still use a port it removed from the snapshot (see Bridge.WaitForWorkers).
    private long _batchSequence;

    public PortWorker(Bridge bridge, IPort port, int portIndex, int queue = -1)
    {
        _bridge = bridge;
        _port = port;
        _portIndex = portIndex;
        _queue = queue;
        _thread = new Thread(Run) { IsBackground = true, Name = queue < 0 ? $"ub-rx-{port.Name}" : $"ub-rx-{port.Name}-q{queue}" };
    }

    public void Start() => _thread.Start();

    /// <summary>Stops the worker and waits for it: a worker blocked on a quiet port is woken, not abandoned.</summary>
    public bool Stop(TimeSpan timeout)
    {
        _stopping = true;
        _port.Wake();
        return _thread.Join(timeout);
    }

    /// <summary>
    /// Returns when this worker has finished the batch it was in (if any) when called: from then on it can only
    /// use snapshots published before the call returned.
    /// </summary>
    public void WaitForBatchBoundary()
    {
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

    /// <summary>
    /// False once this worker's port was removed: its index may already belong to a new port, whose counters
    /// and learning must not see the old port's last frames.
    /// </summary>
    private bool OwnsIndex(SwitchSnapshot snapshot)
    {
        var ports = snapshot.Ports;
        return (uint)_portIndex < (uint)ports.Length && ReferenceEquals(ports[_portIndex]?.Port, _port);
    }

    /// <summary>Starts loading the MAC table entries of the whole batch, so that their cache misses overlap.</summary>
    private void Prefetch(ForwardingEngine engine, SwitchSnapshot snapshot, PacketBuffer[] batch, int count)
    {
        for (var i = 0; i < count; i++)
        {
            engine.Prefetch(snapshot, _portIndex, batch[i].Frame);
        }
    }

    private void Run()
    {
        var batch = _bridge.BufferPool.RentBatch(BatchSize);
        WorkerThread.Assign();
        var queues = _queue < 0 ? null : (IMultiQueuePort)_port;
        try
        {
            _bridge.Options.WorkerStarting?.Invoke();
            var engine = _bridge.Engine;
            var context = new WorkerContext();
            var table = engine.MacTable;
            while (!_stopping)
            {
                var count = queues is null ? _port.Receive(batch) : queues.Receive(batch, _queue);
                if (count == 0)
                {
                    continue;
                }

                // Full fence: the odd sequence must be visible before the snapshot is read, or the control
                // plane could see "between batches" while this batch already holds the old snapshot.
                Interlocked.Increment(ref _batchSequence);

                // One snapshot and one clock reading per batch: the control plane's changes apply from the
                // next batch on.
                var snapshot = _bridge.Snapshot;
                if (OwnsIndex(snapshot))
                {
                    var nowMs = table.NowMs;
                    if (table.Count >= PrefetchEntries)
                    {
                        Prefetch(engine, snapshot, batch, count);
                    }

                    for (var i = 0; i < count; i++)
                    {
                        var buffer = batch[i];
                        engine.Process(snapshot, _portIndex, buffer.Frame, buffer.Offload, context, nowMs);
                    }
                }

                // Release: every send of this batch happens before the even sequence is seen.
                Volatile.Write(ref _batchSequence, _batchSequence + 1);
            }
        }
        catch (PortException ex)
        {
            _bridge.OnPortFailed(_port.Name, ex);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Log.WorkerCrashed(_bridge.Logger, _port.Name, ex);
            _bridge.OnPortFailed(_port.Name, ex);
        }
        finally
        {
            _bridge.BufferPool.ReturnBatch(batch);
        }
    }
}
