using UserBridge.Core.Buffers;
using UserBridge.Core.Ports;
using UserBridge.Core.Switching;

namespace UserBridge.Core.Workers;

/// <summary>
/// A poller thread: waits on the fds of several ports at once and, for every ready one, reads a batch and forwards
/// it to completion before waiting again. A request that crosses the switch and the reply that the receiving stack
/// queues while the request is being written are served by the same thread without sleeping in between, and one
/// core is left to the hosts' stacks (how vde_switch and OVS's netdev datapath run). A port that fails is dropped
/// from the set and reported; the others go on.
/// </summary>
internal sealed class PollWorker : BatchWorker, IDisposable
{
    private const int MaxEvents = 64;

    private readonly IPollSet _set;
    private readonly Lock _membership = new();

    // Indexed by port index, swapped whole under _membership: the thread reads it once per wait without a lock.
    private IPollablePort?[] _members = [];

    public PollWorker(Bridge bridge, IPollSet set, int number)
        : base(bridge, $"ub-poll-{number}")
    {
        _set = set;
    }

    /// <summary>How many ports this poller serves.</summary>
    public int Count => Volatile.Read(ref _members).Count(member => member is not null);

    /// <summary>Starts serving <paramref name="port"/>, at <paramref name="portIndex"/> in the snapshot.</summary>
    public void Add(IPollablePort port, int portIndex)
    {
        lock (_membership)
        {
            var members = _members;
            var next = new IPollablePort?[Math.Max(members.Length, portIndex + 1)];
            members.CopyTo(next, 0);
            next[portIndex] = port;
            Volatile.Write(ref _members, next);
            _set.Add(port.PollFd, portIndex);
        }
    }

    /// <summary>Stops serving <paramref name="port"/>; on return the thread no longer reads from it.</summary>
    public void Remove(IPollablePort port, int portIndex)
    {
        Forget(port, portIndex);
        WaitForBatchBoundary();
    }

    public void Dispose() => _set.Dispose();

    protected override void Wake() => _set.Wake();

    protected override void Loop(PacketBuffer[] batch, WorkerContext context)
    {
        Span<PollEvent> ready = stackalloc PollEvent[MaxEvents];
        while (!Stopping)
        {
            var count = _set.Wait(ready);
            if (count == 0)
            {
                continue;
            }

            EnterBatch();
            var members = Volatile.Read(ref _members);
            var snapshot = Bridge.Snapshot;
            for (var i = 0; i < count; i++)
            {
                var (portIndex, events) = ready[i];
                if ((uint)portIndex < (uint)members.Length && members[portIndex] is { } port)
                {
                    Serve(port, portIndex, events, snapshot, batch, context);
                }
            }

            LeaveBatch();
        }
    }

    private void Serve(IPollablePort port, int portIndex, int events, BridgeSnapshot snapshot, PacketBuffer[] batch, WorkerContext context)
    {
        try
        {
            var received = port.TryReceive(batch, events);
            if (received > 0)
            {
                Forward(port, portIndex, snapshot, batch, received, context);
                Reset(batch, received);
            }
        }
        catch (PortException ex)
        {
            Forget(port, portIndex);
            Bridge.OnPortFailed(portIndex, port, ex);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Reset(batch, batch.Length);
            if (!Recover(port, portIndex, ex))
            {
                Forget(port, portIndex);
                Bridge.OnPortFailed(portIndex, port, ex);
            }
        }
    }

    /// <summary>
    /// Puts back the offset and offload a port may have set: the next port to fill these buffers may be one that never
    /// sets them (a TAP without offloads, a datagram socket).
    /// </summary>
    private static void Reset(PacketBuffer[] batch, int count)
    {
        for (var i = 0; i < count; i++)
        {
            batch[i].Offset = 0;
            batch[i].Offload = default;
        }
    }

    private void Forget(IPollablePort port, int portIndex)
    {
        lock (_membership)
        {
            var members = _members;
            if ((uint)portIndex >= (uint)members.Length || !ReferenceEquals(members[portIndex], port))
            {
                return;
            }

            _set.Remove(port.PollFd);
            var next = (IPollablePort?[])members.Clone();
            next[portIndex] = null;
            Volatile.Write(ref _members, next);
        }
    }
}
