using UserBridge.Core.Forwarding;

namespace UserBridge.Core.Ports;

/// <summary>
/// The counters of one switch port. Thread-safety contract: the receive side (rx, floods, drops) is written
/// only by the worker that reads the port, so it uses plain increments (atomic ones when the port has several
/// queues, each with its worker: <c>sharedReceive</c>); the transmit side is written by the
/// worker of whichever port a frame came in on, so it uses <see cref="Interlocked"/>. Readers (the control
/// plane) read with <see cref="Volatile"/> and may see a value one frame old, never a torn one (64-bit
/// fields are written atomically on 64-bit platforms).
/// </summary>
public sealed class PortCounters(bool sharedReceive = false)
{
    private readonly long[] _drops = new long[DropReasons.Count];
    private long _rxFrames;
    private long _rxBytes;
    private long _txFrames;
    private long _txBytes;
    private long _txErrors;
    private long _floods;
    private long _captureDrops;
    private long _shutdowns;
    private long _macLimitUnlearned;
    private long _workerRestarts;
    private int _shutdownLatched;

    public long RxFrames => Volatile.Read(ref _rxFrames);

    public long RxBytes => Volatile.Read(ref _rxBytes);

    public long TxFrames => Volatile.Read(ref _txFrames);

    public long TxBytes => Volatile.Read(ref _txBytes);

    /// <summary>Frames the port failed to send (link down, queue full, interface gone).</summary>
    public long TxErrors => Volatile.Read(ref _txErrors);

    /// <summary>Frames that arrived on this port and were flooded.</summary>
    public long Floods => Volatile.Read(ref _floods);

    /// <summary>Copies of this port's frames that a capture could not take (its ring was full); the frames were forwarded.</summary>
    public long CaptureDrops => Volatile.Read(ref _captureDrops);

    /// <summary>Frames forwarded without learning their source: the port held its <c>max_macs</c> (<c>on_limit = "log"</c>).</summary>
    public long MacLimitUnlearned => Volatile.Read(ref _macLimitUnlearned);

    /// <summary>Times the port's worker crashed (a bug) and went on serving it.</summary>
    public long WorkerRestarts => Volatile.Read(ref _workerRestarts);

    /// <summary>Times a guard (BPDU guard, MAC limit) took the port down.</summary>
    public long Shutdowns => Volatile.Read(ref _shutdowns);

    public long Drops(DropReason reason) => Volatile.Read(ref _drops[(int)reason]);

    public long TotalDrops
    {
        get
        {
            long total = 0;
            for (var i = 1; i < _drops.Length; i++)
            {
                total += Volatile.Read(ref _drops[i]);
            }

            return total;
        }
    }

    internal void CountReceived(int frameLength)
    {
        if (sharedReceive)
        {
            Interlocked.Increment(ref _rxFrames);
            Interlocked.Add(ref _rxBytes, frameLength);
            return;
        }

        _rxFrames++;
        _rxBytes += frameLength;
    }

    internal void CountDrop(DropReason reason)
    {
        if (sharedReceive)
        {
            Interlocked.Increment(ref _drops[(int)reason]);
            return;
        }

        _drops[(int)reason]++;
    }

    /// <summary>
    /// Counts a drop the port made itself (<see cref="ICountingPort"/>): from any thread, since a port drops on its
    /// receive thread and on every worker that sends through it.
    /// </summary>
    public void CountPortDrop(DropReason reason) => Interlocked.Increment(ref _drops[(int)reason]);

    internal void CountMacLimitUnlearned()
    {
        if (sharedReceive)
        {
            Interlocked.Increment(ref _macLimitUnlearned);
            return;
        }

        _macLimitUnlearned++;
    }

    internal void CountFlood()
    {
        if (sharedReceive)
        {
            Interlocked.Increment(ref _floods);
            return;
        }

        _floods++;
    }

    internal void CountSent(int frameLength)
    {
        Interlocked.Increment(ref _txFrames);
        Interlocked.Add(ref _txBytes, frameLength);
    }

    internal void CountSendError() => Interlocked.Increment(ref _txErrors);

    /// <summary>Counts a copy a capture dropped (any worker may call it).</summary>
    public void CountCaptureDrop() => Interlocked.Increment(ref _captureDrops);

    /// <summary>
    /// True for the first caller after the port was last brought up: only that one asks the control plane to take the
    /// port down, however many offending frames the workers see before the snapshot says it is down.
    /// </summary>
    internal bool TryLatchShutdown()
    {
        if (Interlocked.CompareExchange(ref _shutdownLatched, 1, 0) != 0)
        {
            return false;
        }

        Interlocked.Increment(ref _shutdowns);
        return true;
    }

    internal void ClearShutdownLatch() => Volatile.Write(ref _shutdownLatched, 0);

    /// <summary>Takes back a <see cref="TryLatchShutdown"/> whose request could not be delivered: the next offending frame asks again.</summary>
    internal void UndoShutdownLatch()
    {
        Interlocked.Decrement(ref _shutdowns);
        Volatile.Write(ref _shutdownLatched, 0);
    }

    internal void CountWorkerRestart() => Interlocked.Increment(ref _workerRestarts);
}
