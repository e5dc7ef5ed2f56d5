using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging;
using UserBridge.Core.Buffers;
using UserBridge.Core.Events;
using UserBridge.Core.Forwarding;
using UserBridge.Core.Learning;
using UserBridge.Core.Logging;
using UserBridge.Core.Observers;
using UserBridge.Core.Ports;
using UserBridge.Core.Workers;

namespace UserBridge.Core.Switching;

/// <summary>
/// One switch: its ports, MAC table, engine, workers, control thread and the aging sweeper. The methods here are the
/// control plane: they are serialised by one lock and publish a new <see cref="BridgeSnapshot"/> for every change.
/// </summary>
/// <remarks>
/// The workers never take that lock. They read the snapshot once per batch, and what they notice that needs the
/// control plane (a port failed, a guard tripped) they post to the bridge's <see cref="ControlInbox"/>, which the
/// bridge's control thread (<c>ub-control</c>) drains: it takes the port down under the lock, so the scan of the MAC
/// table that goes with it never holds up a worker's other ports (Bridge.Inbox.cs).
/// </remarks>
public sealed partial class Bridge : IDisposable
{
    private static readonly TimeSpan WorkerStopTimeout = TimeSpan.FromSeconds(1);

    private readonly Lock _control = new();
    private readonly Dictionary<string, PortWorker[]> _workers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, PollWorker> _polled = new(StringComparer.Ordinal);
    private readonly List<FrameObserver> _taps = [];
    private readonly TimeProvider _time;
    private readonly long[] _failures = new long[PortFailures.All.Count];
    private readonly long[] _refusals = new long[PortRefusals.All.Count];
    // Ports that come and go with their connections (a peer that connects in a loop) must not flood the log.
    private readonly LogRateLimit _portLog = new();
    private BridgeSnapshot _snapshot = BridgeSnapshot.Empty;
    private PollWorker[] _pollers = [];
    private ITimer? _sweeper;
    private bool _started;
    private bool _disposed;

    public Bridge(BridgeOptions options, TimeProvider? timeProvider = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = options;
        _time = timeProvider ?? TimeProvider.System;
        Logger = logger ?? NullLogger.Instance;
        MacTable = new MacTable(options.MacTableSize, options.AgingTime, _time, options.AdviseHugePages) { Events = Events };
        Engine = new ForwardingEngine(MacTable) { ShutDownPort = ShutDownPort };
        _controlThread = StartControlThread();
    }

    public BridgeOptions Options { get; }

    public MacTable MacTable { get; }

    public ForwardingEngine Engine { get; }

    public BufferPool BufferPool { get; } = new();

    /// <summary>Port and MAC table events, recorded while a reader has turned them on (<c>monitor</c>).</summary>
    public EventRing Events { get; } = new();

    public ILogger Logger { get; }

    /// <summary>The current snapshot. The volatile read pairs with the volatile write in Publish: a worker that
    /// sees a new snapshot also sees every object it points to fully built.</summary>
    public BridgeSnapshot Snapshot => Volatile.Read(ref _snapshot);

    /// <summary>
    /// Raised on a thread-pool thread when a port fails, once the control thread has taken it down (its snapshot says
    /// it is down and its learned entries are gone).
    /// </summary>
    public event EventHandler<PortFailedEventArgs>? PortFailed;

    /// <summary>Adds a port and, once the bridge is started, starts its worker. The bridge owns the port from now on.</summary>
    public PortSlot AddPort(IPort port) => AddPort(port, isUp: true);

    /// <summary>
    /// Adds a port that starts administratively up or down, with VLAN settings (null: none, an access port of
    /// VLAN 1 should the switch be VLAN-aware).
    /// </summary>
    public PortSlot AddPort(IPort port, bool isUp, PortVlan? vlan = null, PortGuard? guard = null)
    {
        ArgumentNullException.ThrowIfNull(port);
        lock (_control)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var current = _snapshot.Ports;
            if (_snapshot.Find(port.Name) is not null)
            {
                throw new ArgumentException($"a port named '{port.Name}' already exists", nameof(port));
            }

            var index = Array.IndexOf(current, null);
            if (index < 0)
            {
                index = current.Length;
            }

            if (index >= MacTable.MaxPorts)
            {
                throw new InvalidOperationException($"the switch has {MacTable.MaxPorts} ports, the most it can hold");
            }

            var ports = new PortSlot?[Math.Max(current.Length, index + 1)];
            current.CopyTo(ports, 0);
            var slot = new PortSlot(index, port, new PortCounters(sharedReceive: port is IMultiQueuePort { QueueCount: > 1 }), isUp)
            {
                Vlan = vlan ?? PortVlan.Default,
                HasVlanSettings = vlan is not null,
                Guard = guard ?? PortGuard.None,
            };
            ports[index] = slot;
            (port as ICountingPort)?.Attach(slot.Counters);
            Publish(ports);
            Events.Publish(BridgeEvent.ForPort(BridgeEventKind.PortAdded, slot.Name, index));
            if (_started)
            {
                StartWorker(slot);
            }

            return slot;
        }
    }

    /// <summary>Stops the port's worker, forgets its MAC entries and disposes it.</summary>
    public bool RemovePort(string name)
    {
        PortSlot? slot;
        PortWorker[]? worker;
        PollWorker? poller;
        lock (_control)
        {
            slot = _snapshot.Find(name);
            if (slot is null)
            {
                return false;
            }

            var ports = (PortSlot?[])_snapshot.Ports.Clone();
            ports[slot.Index] = null;
            Publish(ports);
            _workers.Remove(name, out worker);
            _polled.Remove(name, out poller);
        }

        StopWorker(worker, name);
        poller?.Remove((IPollablePort)slot.Port, slot.Index);
        WaitForWorkers();
        MacTable.FlushPort(slot.Index);
        slot.Port.Dispose();
        if (_portLog.TryPass(out var suppressed))
        {
            Log.PortRemoved(Logger, name, suppressed);
        }

        Events.Publish(BridgeEvent.ForPort(BridgeEventKind.PortRemoved, name, slot.Index));
        return true;
    }

    /// <summary>Starts a worker per port and the aging sweeper.</summary>
    public void Start()
    {
        lock (_control)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_started)
            {
                return;
            }

            _started = true;
            StartPollers();
            foreach (var slot in _snapshot.Ports)
            {
                if (slot is not null)
                {
                    StartWorker(slot);
                }
            }

            var period = TimeSpan.FromTicks(Math.Clamp(MacTable.AgingTime.Ticks / 10, TimeSpan.TicksPerSecond, 10 * TimeSpan.TicksPerSecond));
            _sweeper = _time.CreateTimer(static state => ((Bridge)state!).SweepNow(), this, period, period);
        }
    }

    /// <summary>
    /// Removes aged entries now, and gives back the pinned memory of ports that went in a burst (the sweeper calls this
    /// periodically).
    /// </summary>
    public int SweepNow()
    {
        var aged = MacTable.Sweep();
        if (aged > 0)
        {
            Log.Aged(Logger, aged);
        }

        BufferPool.TrimIdle();
        PortBufferPool.Trim();
        return aged;
    }

    /// <summary>Stops every worker (each within a second, even on a quiet port) and disposes every port.</summary>
    public void Dispose()
    {
        PortSlot?[] ports;
        List<KeyValuePair<string, PortWorker[]>> workers;
        PollWorker[] pollers;
        lock (_control)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _sweeper?.Dispose();
            ports = _snapshot.Ports;
            workers = [.. _workers];
            _workers.Clear();
            _polled.Clear();
            pollers = _pollers;
            _pollers = [];
            Publish([]);
        }

        foreach (var (name, worker) in workers)
        {
            StopWorker(worker, name);
        }

        StopPollers(pollers);
        StopControlThread();

        foreach (var slot in ports)
        {
            slot?.Port.Dispose();
        }
    }

    /// <summary>How many ports have failed for <paramref name="failure"/> since the switch started.</summary>
    public long Failures(PortFailure failure) => Volatile.Read(ref _failures[(int)failure]);

    /// <summary>How many connections were refused a port for <paramref name="refusal"/> since the switch started.</summary>
    public long Refusals(PortRefusal refusal) => Volatile.Read(ref _refusals[(int)refusal]);

    /// <summary>Counts a connection that could not become a port (the endpoint that refused it closed it).</summary>
    public void CountRefusal(PortRefusal refusal) => Interlocked.Increment(ref _refusals[(int)refusal]);

    /// <summary>Whether a port could be added now: the switch holds fewer than <see cref="MacTable.MaxPorts"/>.</summary>
    public bool HasRoomForPort
    {
        get
        {
            var ports = Snapshot.Ports;
            return ports.Length < MacTable.MaxPorts || Array.IndexOf(ports, null) >= 0;
        }
    }

    /// <summary>Starts the poller threads <see cref="BridgeOptions.Pollers"/> asks for.</summary>
    private void StartPollers()
    {
        if (Options.Pollers <= 0 || Options.CreatePollSet is not { } createPollSet)
        {
            return;
        }

        var pollers = new List<PollWorker>();
        try
        {
            for (var number = 0; number < Options.Pollers; number++)
            {
                pollers.Add(new PollWorker(this, createPollSet(), number));
            }
        }
        catch
        {
            pollers.ForEach(poller => poller.Dispose());
            throw;
        }

        _pollers = [.. pollers];
        foreach (var poller in _pollers)
        {
            poller.Start();
        }
    }

    private void StopPollers(PollWorker[] pollers)
    {
        foreach (var poller in pollers)
        {
            if (!poller.Stop(WorkerStopTimeout))
            {
                Log.WorkerStuck(Logger, "(poller)", WorkerStopTimeout);
            }

            poller.Dispose();
        }
    }

    /// <summary>
    /// Starts serving the port: on the least loaded poller when there are pollers and the port can be polled (one queue),
    /// else on a worker of its own, or one per queue of a multi-queue port.
    /// </summary>
    private void StartWorker(PortSlot slot)
    {
        if (_pollers.Length > 0 && slot.Port is IPollablePort pollable and not IMultiQueuePort { QueueCount: > 1 })
        {
            var poller = _pollers.MinBy(candidate => candidate.Count)!;
            _polled[slot.Name] = poller;
            poller.Add(pollable, slot.Index);
            Log.PortUp(Logger, slot.Name, slot.Port.Type, slot.Port.Interface, slot.Index);
            return;
        }

        PortWorker[] workers = slot.Port is IMultiQueuePort { QueueCount: > 1 } multi
            ? [.. Enumerable.Range(0, multi.QueueCount).Select(queue => new PortWorker(this, slot.Port, slot.Index, queue))]
            : [new PortWorker(this, slot.Port, slot.Index)];
        _workers[slot.Name] = workers;
        foreach (var worker in workers)
        {
            worker.Start();
        }

        Log.PortUp(Logger, slot.Name, slot.Port.Type, slot.Port.Interface, slot.Index);
    }

    private void StopWorker(PortWorker[]? workers, string name)
    {
        foreach (var worker in workers ?? [])
        {
            if (!worker.Stop(WorkerStopTimeout))
            {
                Log.WorkerStuck(Logger, name, WorkerStopTimeout);
            }
        }
    }

    /// <summary>
    /// Waits until every worker has left the batch it was in: after that no worker holds a snapshot older than
    /// the current one, so a port removed from the snapshot can be closed without a send racing the close.
    /// </summary>
    private void WaitForWorkers()
    {
        BatchWorker[] workers;
        lock (_control)
        {
            workers = [.. _workers.Values.SelectMany(queues => queues), .. _pollers];
        }

        foreach (var worker in workers)
        {
            worker.WaitForBatchBoundary();
        }
    }

    private void Publish(PortSlot?[] ports)
    {
        ObserverSet? taps = null;
        if (_taps.Count > 0 || ports.Any(slot => slot is { IsMirrorOutput: true }))
        {
            ports = MarkMirrorOutputs(ports);
            foreach (var tap in _taps)
            {
                tap.Bind(ports);
            }

            taps = _taps.Count > 0 ? new ObserverSet(ports, _taps) : null;
        }

        var next = new BridgeSnapshot(ports, _snapshot.Version + 1, Options.VlanFiltering, taps, Options.ForwardLinkLocal);

        // Release semantics: everything the new snapshot references is written before it becomes visible.
        Volatile.Write(ref _snapshot, next);
    }
}
