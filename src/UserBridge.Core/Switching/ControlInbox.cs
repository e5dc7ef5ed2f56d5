using UserBridge.Core.Buffers;
using UserBridge.Core.Learning;

namespace UserBridge.Core.Switching;

/// <summary>
/// The bridge's one control-plane inbox: what a worker notices that needs the control plane (a port failed, a guard
/// tripped) is posted here as a <see cref="ControlNotice"/>, and the bridge's control thread takes it out and applies
/// it under the control lock (<see cref="Bridge"/>). Posting never takes that lock, never allocates and never waits for
/// the control plane, so a worker goes on forwarding its other ports' frames while the control plane takes a port down.
/// </summary>
/// <remarks>
/// <para>The notices wait in a <see cref="BoundedQueue{T}"/>: a worker claims a cell with one compare-and-swap and
/// writes its record there; the control thread reads a cell only once it is written. The control thread sleeps on a
/// monitor that a post pulses: the monitor is the inbox's own (never the bridge's lock), and nobody holds it longer
/// than it takes to set or clear a flag.</para>
/// <para><b>When it is full</b>, <see cref="TryPost"/> refuses the notice, counts it (<see cref="Refused"/>) and returns
/// at once: the worker goes on. It takes <see cref="DefaultCapacity"/> notices waiting (the control thread that many
/// port changes behind, each a scan of the MAC table), and each port has at most one notice of each kind waiting per
/// worker serving it, so it does not happen in practice. Should it happen anyway: a refused guard trip is asked again
/// by the next offending frame (the guard drops those frames meanwhile); a refused failure leaves the port listed up,
/// though no worker reads it any more, until it is removed — the control thread logs how many notices were refused.</para>
/// </remarks>
internal sealed class ControlInbox
{
    /// <summary>As many notices as the bridge holds ports.</summary>
    public const int DefaultCapacity = MacTable.MaxPorts;

    private readonly BoundedQueue<ControlNotice> _queue;

    // What the control thread sleeps on, and whether anything was posted (or refused) since it last woke.
    private readonly object _gate = new();
    private bool _signalled;
    private long _refused;

    /// <summary>An inbox of <paramref name="capacity"/> notices, rounded up to a power of two.</summary>
    public ControlInbox(int capacity = DefaultCapacity) => _queue = new BoundedQueue<ControlNotice>(capacity);

    public int Capacity => _queue.Capacity;

    /// <summary>Notices refused because the inbox was full, since it was made.</summary>
    public long Refused => Volatile.Read(ref _refused);

    /// <summary>Any thread: queues <paramref name="notice"/> and wakes the control thread; false, counted, when the inbox is full.</summary>
    public bool TryPost(in ControlNotice notice)
    {
        var posted = _queue.TryAdd(notice);
        if (!posted)
        {
            Interlocked.Increment(ref _refused);
        }

        // Woken for a refusal too, so that the control thread reports it promptly.
        Wake();
        return posted;
    }

    /// <summary>The control thread only: takes the oldest notice if one is posted; false at once when none is.</summary>
    public bool TryTake(out ControlNotice notice) => _queue.TryTake(out notice);

    /// <summary>The control thread only: waits until something was posted (or refused) since the last wait, or <see cref="Wake"/>.</summary>
    public void Wait()
    {
        lock (_gate)
        {
            while (!_signalled)
            {
                Monitor.Wait(_gate);
            }

            _signalled = false;
        }
    }

    /// <summary>Makes the control thread's <see cref="Wait"/> return, or its next one.</summary>
    public void Wake()
    {
        lock (_gate)
        {
            _signalled = true;
            Monitor.Pulse(_gate);
        }
    }
}
