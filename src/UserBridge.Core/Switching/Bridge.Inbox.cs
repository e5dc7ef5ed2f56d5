using UserBridge.Core.Forwarding;
using UserBridge.Core.Logging;
using UserBridge.Core.Ports;

namespace UserBridge.Core.Switching;

/// <summary>
/// What the workers tell the control plane, and the control thread that acts on it: the workers post to the
/// <see cref="ControlInbox"/> and go on; the control thread takes the port down under the control lock (a new snapshot
/// and a scan of the MAC table), off every worker's thread.
/// </summary>
public sealed partial class Bridge
{
    private readonly ControlInbox _inbox = new();
    private readonly Thread _controlThread;
    private volatile bool _controlStopping;

    // Refused notices already logged: the control thread logs the ones refused since.
    private long _refusedReported;

    /// <summary>Notices the workers could not post because the control inbox was full (see <see cref="ControlInbox"/>).</summary>
    public long RefusedNotices => _inbox.Refused;

    /// <summary>
    /// Called by a worker that can no longer read <paramref name="port"/> and has stopped serving it. Only posts: the
    /// control thread counts the failure, logs it, takes the port down and raises <see cref="PortFailed"/>.
    /// </summary>
    internal void OnPortFailed(int portIndex, IPort port, Exception exception) =>
        _inbox.TryPost(ControlNotice.Failed(portIndex, port, exception));

    /// <summary>
    /// Called by a worker when a guard trips on port <paramref name="index"/>: the first call since the port was last
    /// brought up asks the control thread to take it down. A notice the full inbox refuses releases the latch, so that
    /// the next offending frame asks again.
    /// </summary>
    private void ShutDownPort(int index, DropReason reason)
    {
        if (!Snapshot.TryGetPort(index, out var slot) || !slot.Counters.TryLatchShutdown())
        {
            return;
        }

        if (!_inbox.TryPost(ControlNotice.Tripped(index, slot.Port, reason)))
        {
            slot.Counters.UndoShutdownLatch();
        }
    }

    private Thread StartControlThread()
    {
        var thread = new Thread(RunControl) { IsBackground = true, Name = "ub-control" };
        thread.Start();
        return thread;
    }

    /// <summary>Stops the control thread; the notices still in the inbox are about ports being disposed with the bridge.</summary>
    private void StopControlThread()
    {
        _controlStopping = true;
        _inbox.Wake();
        _controlThread.Join();
    }

    private void RunControl()
    {
        while (true)
        {
            _inbox.Wait();
            if (_controlStopping)
            {
                return;
            }

            while (_inbox.TryTake(out var notice))
            {
                Apply(notice);
            }

            var refused = _inbox.Refused;
            if (refused != _refusedReported)
            {
                Log.NoticesRefused(Logger, refused - _refusedReported, _inbox.Capacity);
                _refusedReported = refused;
            }
        }
    }

    private void Apply(in ControlNotice notice)
    {
        var name = notice.Port.Name;
        if (notice.Kind == ControlNoticeKind.GuardTripped)
        {
            Log.PortShutDown(Logger, name, DropReasons.Name(notice.Guard));
            TakeDown(notice.PortIndex, notice.Port);
            return;
        }

        var exception = notice.Failure!;
        Interlocked.Increment(ref _failures[(int)PortFailures.Of(exception)]);
        if (_portLog.TryPass(out var suppressed))
        {
            Log.PortFailed(Logger, name, exception.Message + suppressed);
        }

        TakeDown(notice.PortIndex, notice.Port);

        // Raised on the thread pool, not here: a handler may remove the port (which joins its worker and waits for
        // batch boundaries), and other notices must not wait for it.
        if (PortFailed is { } handlers)
        {
            ThreadPool.QueueUserWorkItem(state => handlers(this, state), new PortFailedEventArgs(name, exception), preferLocal: false);
        }
    }
}
