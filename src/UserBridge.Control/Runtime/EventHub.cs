using System.Globalization;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using UserBridge.Core.Events;
using UserBridge.Core.Switching;

namespace UserBridge.Control.Runtime;

/// <summary>
/// Hands the bridge's events to every <c>monitor</c> client: one thread drains the bridge's <see cref="EventRing"/>
/// (turned on only while someone listens), names the ports, and gives each subscriber a JSON object per event. A
/// subscriber that stops reading loses events of its own (it is told how many), never the others' and never the
/// workers' time.
/// </summary>
public sealed class EventHub : IDisposable
{
    private const int SubscriberCapacity = 4096;
    private static readonly TimeSpan DrainInterval = TimeSpan.FromMilliseconds(20);

    private readonly Bridge _bridge;
    private readonly Lock _lock = new();
    private readonly List<Subscription> _subscribers = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly ManualResetEventSlim _listened = new(false);
    private readonly Thread _thread;
    private long _ringLostReported;

    public EventHub(Bridge bridge)
    {
        _bridge = bridge;
        _thread = new Thread(Run) { IsBackground = true, Name = "ub-events" };
        _thread.Start();
    }

    /// <summary>How many monitors are listening.</summary>
    public int Subscribers
    {
        get
        {
            lock (_lock)
            {
                return _subscribers.Count;
            }
        }
    }

    /// <summary>Starts a subscription: events from now on, until it is disposed.</summary>
    public Subscription Subscribe()
    {
        var subscription = new Subscription(this);
        lock (_lock)
        {
            _subscribers.Add(subscription);
            _bridge.Events.Enabled = true;
            _listened.Set();
        }

        return subscription;
    }

    public void Dispose()
    {
        _stop.Cancel();
        _thread.Join();
        lock (_lock)
        {
            foreach (var subscriber in _subscribers)
            {
                subscriber.Complete();
            }

            _subscribers.Clear();
            _bridge.Events.Enabled = false;
        }

        _stop.Dispose();
        _listened.Dispose();
    }

    /// <summary>The JSON form of an event, its ports named as the snapshot names them now.</summary>
    public static JsonObject Describe(in BridgeEvent item, BridgeSnapshot snapshot, DateTimeOffset time)
    {
        var json = new JsonObject
        {
            ["time"] = Stamp(time),
            ["event"] = Name(item.Kind),
        };
        if (item.Kind == BridgeEventKind.ConfigApplied)
        {
            json["changes"] = item.Text;
            return json;
        }

        if (item.Text is not null)
        {
            json["port"] = item.Text;
            return json;
        }

        json["mac"] = item.Mac.ToString();
        json["vlan"] = item.Vlan;
        json["port"] = PortName(snapshot, item.Port);
        if (item.Kind == BridgeEventKind.Moved)
        {
            json["from"] = PortName(snapshot, item.FromPort);
        }

        return json;
    }

    public static string Name(BridgeEventKind kind) => kind switch
    {
        BridgeEventKind.Learned => "learned",
        BridgeEventKind.Moved => "moved",
        BridgeEventKind.Aged => "aged",
        BridgeEventKind.Evicted => "evicted",
        BridgeEventKind.PortAdded => "port_added",
        BridgeEventKind.PortRemoved => "port_removed",
        BridgeEventKind.PortUp => "port_up",
        BridgeEventKind.PortDown => "port_down",
        _ => "config_applied",
    };

    private static string PortName(BridgeSnapshot snapshot, int index) =>
        snapshot.TryGetPort(index, out var slot) ? slot.Name : $"#{index}";

    private void Unsubscribe(Subscription subscription)
    {
        lock (_lock)
        {
            _subscribers.Remove(subscription);
            _bridge.Events.Enabled = _subscribers.Count > 0;
            if (_subscribers.Count == 0)
            {
                _listened.Reset();
            }
        }
    }

    private void Run()
    {
        var waits = new[] { _stop.Token.WaitHandle, _listened.WaitHandle };
        while (true)
        {
            // Drain first, also when the last monitor just left: no event recorded for it reaches the next one.
            var listening = Drain();
            var stopped = listening
                ? _stop.Token.WaitHandle.WaitOne(DrainInterval)
                : WaitHandle.WaitAny(waits) == 0; // Nobody listens: sleep until someone does (an idle switch wakes no thread).
            if (stopped)
            {
                return;
            }
        }
    }

    /// <summary>Hands every recorded event to the subscribers; returns whether there are any.</summary>
    private bool Drain()
    {
        Subscription[] subscribers;
        lock (_lock)
        {
            subscribers = [.. _subscribers];
        }

        var ring = _bridge.Events;
        var snapshot = _bridge.Snapshot;
        var now = DateTimeOffset.UtcNow;
        while (ring.TryTake(out var item))
        {
            var line = Describe(item, snapshot, now).ToJsonString();
            foreach (var subscriber in subscribers)
            {
                subscriber.Offer(line, now);
            }
        }

        // What the ring lost, every subscriber lost; and a subscriber whose queue was full hears of its losses as soon as
        // it has room again, not only with the next event (after a burst there may be none for a long time).
        var lost = ring.Lost;
        var ringLost = lost - _ringLostReported;
        _ringLostReported = lost;
        foreach (var subscriber in subscribers)
        {
            subscriber.ReportLost(ringLost, now);
        }

        return subscribers.Length > 0;
    }

    private static string Stamp(DateTimeOffset time) => time.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);

    private static JsonObject Lost(DateTimeOffset time, long count) => new()
    {
        ["time"] = Stamp(time),
        ["event"] = "lost",
        ["count"] = count,
    };

    /// <summary>One monitor client's queue of JSON lines.</summary>
    public sealed class Subscription : IDisposable
    {
        private readonly EventHub _hub;
        private readonly Channel<string> _lines = Channel.CreateBounded<string>(new BoundedChannelOptions(SubscriberCapacity) { SingleReader = true, SingleWriter = true });
        private long _lost;

        internal Subscription(EventHub hub) => _hub = hub;

        public ChannelReader<string> Lines => _lines.Reader;

        public void Dispose()
        {
            _hub.Unsubscribe(this);
            Complete();
        }

        internal void Complete() => _lines.Writer.TryComplete();

        internal void Offer(string line, DateTimeOffset now)
        {
            ReportLost(0, now);
            if (_lost > 0 || !_lines.Writer.TryWrite(line))
            {
                _lost++;
            }
        }

        /// <summary>Adds <paramref name="count"/> to what this subscriber lost, and tells it the total when its queue has room.</summary>
        internal void ReportLost(long count, DateTimeOffset now)
        {
            _lost += count;

            // Only this thread writes, so room seen here is still there for the write (and a full queue costs no string).
            if (_lost > 0 && _lines.Reader.Count < SubscriberCapacity && _lines.Writer.TryWrite(Lost(now, _lost).ToJsonString()))
            {
                _lost = 0;
            }
        }
    }
}
