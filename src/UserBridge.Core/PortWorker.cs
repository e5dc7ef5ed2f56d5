namespace UserBridge.Core;

/// <summary>
/// The thread that owns a port's receive side: reads a batch into pinned pooled buffers, then runs the
/// engine over each frame against the snapshot current at the start of the batch. No lock, no allocation
/// and no exception per frame; a port failure ends only this worker.
/// </summary>
internal sealed class PortWorker
{
    public const int BatchSize = 32;

    private readonly Bridge _bridge;
    private readonly IPort _port;
    private readonly int _portIndex;
    private readonly Thread _thread;
    private volatile bool _stopping;

    public PortWorker(Bridge bridge, IPort port, int portIndex)
    {
        _bridge = bridge;
        _port = port;
        _portIndex = portIndex;
        _thread = new Thread(Run) { IsBackground = true, Name = $"ub-rx-{port.Name}" };
    }

    public void Start() => _thread.Start();

    /// <summary>Stops the worker and waits for it: a worker blocked on a quiet port is woken, not abandoned.</summary>
    public bool Stop(TimeSpan timeout)
    {
        _stopping = true;
        _port.Wake();
        return _thread.Join(timeout);
    }

    private void Run()
    {
        var batch = _bridge.BufferPool.RentBatch(BatchSize);
        try
        {
            var engine = _bridge.Engine;
            var table = engine.MacTable;
            while (!_stopping)
            {
                var count = _port.Receive(batch);
                if (count == 0)
                {
                    continue;
                }

                // One snapshot and one clock reading per batch: the control plane's changes apply from the
                // next batch on.
                var snapshot = _bridge.Snapshot;
                var nowMs = table.NowMs;
                for (var i = 0; i < count; i++)
                {
                    engine.Process(snapshot, _portIndex, batch[i].Frame, nowMs);
                }
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
