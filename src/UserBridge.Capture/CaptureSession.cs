using UserBridge.Core.Buffers;
using UserBridge.Core.Forwarding;
using UserBridge.Core.Observers;
using UserBridge.Core.Ports;
using UserBridge.Core.Switching;
using UserBridge.Linux.Host;


namespace UserBridge.Capture;

/// <summary>
/// One running capture: a <see cref="CaptureObserver"/> on the bridge and the writer thread that drains its ring into
/// pcapng. Interfaces: one per selected port, written when the capture (or a rotated file) starts, and for a port
/// that appears later, before its first packet. When the capture ends (stopped, count or duration reached, reader
/// gone) the tap is detached, the ring drained, and an Interface Statistics Block per interface records what was
/// captured and what the capture itself dropped.
/// </summary>
public sealed class CaptureSession : IDisposable
{
    /// <summary>The writer thread's nice value: it gives way to the forwarding threads when they compete for a CPU.</summary>
    private const int WriterNice = 10;

    private readonly Bridge _bridge;
    private readonly CaptureObserver _tap;
    private readonly CaptureOutput _output;
    private readonly Thread _writer;
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly DecisionText _texts = new();
    private readonly FrameRing<CaptureRecord>.FrameHandler _writeOne;
    private readonly Dictionary<IPort, SectionInterface> _interfaces = new(ReferenceEqualityComparer.Instance);
    private readonly ITimer? _deadline;
    private PcapngWriter _pcapng;
    private Stream _stream;
    private long _sectionStartNs;
    private long _written;
    private long _lostSeen;
    private bool _limitReached;
    private string _endReason = "running";

    private CaptureSession(int id, Bridge bridge, CaptureOptions options, CaptureOutput output, PacketFilter? filter)
    {
        Id = id;
        Options = options;
        _bridge = bridge;
        _output = output;
        _tap = new CaptureObserver(options, filter) { Ports = options.Ports, Direction = options.Direction, IncludeDrops = options.IncludeDrops };
        _writeOne = WriteOne;
        (_stream, _pcapng) = OpenSection();
        _writer = new Thread(Run) { IsBackground = true, Name = $"ub-capture-{id}" };
        if (options.Duration is { } duration)
        {
            _deadline = TimeProvider.System.CreateTimer(static state => ((CaptureSession)state!).Stop("duration reached"), this, duration, Timeout.InfiniteTimeSpan);
        }
    }

    public int Id { get; }

    public CaptureOptions Options { get; }

    public string Description => _output.Description;

    /// <summary>Packets (copies) written so far.</summary>
    public long Written => Interlocked.Read(ref _written);

    /// <summary>Copies the capture dropped: its ring was full, or a write failed.</summary>
    public long Dropped => _tap.Dropped;

    /// <summary>Why the capture ended, or "running".</summary>
    public string EndReason => Volatile.Read(ref _endReason);

    /// <summary>Completes when the capture has ended and its output is closed.</summary>
    public Task Completion => _completion.Task;

    /// <summary>
    /// Starts a capture on <paramref name="bridge"/> into <paramref name="output"/> (which it then owns). A bad filter,
    /// an unknown port or an output that cannot be opened is refused here, before anything is attached.
    /// </summary>
    public static CaptureSession Start(int id, Bridge bridge, CaptureOptions options, CaptureOutput output)
    {
        ArgumentNullException.ThrowIfNull(bridge);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(output);
        if (options.Ports is { } ports && ports.FirstOrDefault(name => bridge.Snapshot.Find(name) is null) is { } unknown)
        {
            var known = bridge.Snapshot.Ports.OfType<PortSlot>().Select(slot => slot.Name);
            throw new CaptureException($"no port named '{unknown}'; ports: {string.Join(", ", known)}");
        }

        if (options.SnapLength <= 0 || options.RingCapacity < 2)
        {
            throw new CaptureException("the snap length must be positive and the ring hold at least 2 copies");
        }

        var filter = options.Filter is null ? null : PacketFilter.Compile(options.Filter);
        CaptureSession session;
        try
        {
            session = new CaptureSession(id, bridge, options, output, filter);
        }
        catch
        {
            filter?.Dispose();
            throw;
        }

        bridge.AddObserver(session._tap);
        session._writer.Start();
        return session;
    }

    /// <summary>Asks the capture to end; <see cref="Completion"/> completes once the statistics are written.</summary>
    public void Stop(string reason = "stopped")
    {
        Interlocked.CompareExchange(ref _endReason, reason, "running");
        try
        {
            _stop.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Already ended.
        }
    }

    /// <summary>One line: what was written, what the capture dropped, and how it ended.</summary>
    public string Summary() => $"capture {Id}: {Written} packets written, {Dropped} dropped by the capture ({EndReason})";

    public void Dispose()
    {
        Stop();
        _writer.Join();
        _deadline?.Dispose();
        _stop.Dispose();
        _tap.Dispose();
    }

    private (Stream Stream, PcapngWriter Writer) OpenSection()
    {
        var stream = _output.OpenSection();
        var writer = new PcapngWriter(stream);
        _interfaces.Clear();
        _sectionStartNs = ObserverClock.NowNs();
        foreach (var slot in _bridge.Snapshot.Ports)
        {
            if (slot is not null && _tap.Selects(slot))
            {
                AddInterface(writer, slot);
            }
        }

        stream.Flush();
        return (stream, writer);
    }

    private SectionInterface AddInterface(PcapngWriter writer, PortSlot slot)
    {
        var id = writer.AddInterface(slot.Name, $"{slot.Port.Type} {slot.Port.Interface}", Options.SnapLength);
        var added = new SectionInterface(id, slot, _tap.DroppedOn(slot.Index));
        _interfaces[slot.Port] = added;
        return added;
    }

    private void Run()
    {
        // Forwarding first: when the CPUs are short, the writer yields and the ring drops copies (counted), the
        // switch does not slow down.
        ThreadNice.Lower(WriterNice);
        try
        {
            var dirty = false;
            while (!_stop.IsCancellationRequested)
            {
                if (_tap.Ring.TryDequeueNow(_writeOne))
                {
                    dirty = true;
                    continue;
                }

                if (dirty)
                {
                    FlushWhileIdle();
                    dirty = false;
                }

                if (!_tap.Ring.TryDequeue(_writeOne, _stop.Token))
                {
                    break;
                }

                dirty = true;
            }

            _bridge.RemoveObserver(_tap);
            while (!_limitReached && _tap.Ring.TryDequeueNow(_writeOne))
            {
                // Drain what the workers took before the tap was detached.
            }

            EndSection();
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or NotSupportedException)
        {
            Interlocked.CompareExchange(ref _endReason, $"reader gone: {ex.Message}", "running");
            _bridge.RemoveObserver(_tap);
        }
        finally
        {
            Interlocked.CompareExchange(ref _endReason, "stopped", "running");
            _output.Dispose();
            _completion.TrySetResult();
        }
    }

    private void WriteOne(byte[] buffer, int frameLength, in CaptureRecord record)
    {
        if (_limitReached)
        {
            return;
        }

        var frame = buffer.AsSpan(FrameRing<CaptureRecord>.HeaderRoom, frameLength);
        var slot = record.Port;
        if (!_interfaces.TryGetValue(slot.Port, out var entry))
        {
            entry = AddInterface(_pcapng, slot);
        }

        var decision = record.Decision;
        var egress = decision.Action == ForwardingAction.Forward && _bridge.Snapshot.TryGetPort(decision.EgressPort, out var egressSlot)
            ? egressSlot.Name
            : null;
        var comment = _texts.For(decision, slot.Name, egress, frame);
        var direction = record.Direction == ObserverDirection.In ? PacketDirection.Inbound : PacketDirection.Outbound;
        try
        {
            _pcapng.WritePacket(entry.Id, record.Stamp.TimestampNs, frame, record.OriginalLength, direction, record.Stamp.PacketId, comment);
        }
        catch (IOException) when (_output.SurvivesWriteErrors)
        {
            _tap.CountDrop(slot);
            CountLost();
            return;
        }

        entry.Captured++;
        if (Interlocked.Increment(ref _written) == Options.MaxPackets)
        {
            _limitReached = true;
            _tap.Close();
            Stop("packet count reached");
        }
        else if (_output.ShouldRotate)
        {
            EndSection();
            (_stream, _pcapng) = OpenSection();
        }
    }

    /// <summary>Writes an Interface Statistics Block per interface of the section and flushes it.</summary>
    private void EndSection()
    {
        var endNs = Math.Max(ObserverClock.NowNs(), _sectionStartNs);
        foreach (var entry in _interfaces.Values.OrderBy(entry => entry.Id))
        {
            var dropped = _tap.DroppedOn(entry.Slot.Index) - entry.DroppedAtStart;
            try
            {
                _pcapng.WriteStatistics(entry.Id, _sectionStartNs, endNs, (ulong)entry.Captured, (ulong)Math.Max(0, dropped));
            }
            catch (IOException) when (_output.SurvivesWriteErrors)
            {
                return;
            }
        }

        try
        {
            _stream.Flush();
        }
        catch (IOException) when (_output.SurvivesWriteErrors)
        {
            // The statistics of a full disk are lost with it; the packets before them are intact.
        }
    }

    /// <summary>
    /// Makes what was written visible to readers while the ring is empty. A file that cannot take it (a full disk)
    /// has already gone back to its last readable state; the capture goes on, dropping copies until there is room.
    /// </summary>
    private void FlushWhileIdle()
    {
        try
        {
            _stream.Flush();
        }
        catch (IOException) when (_output.SurvivesWriteErrors)
        {
            CountLost();
        }
    }

    /// <summary>Moves the copies a failed write took back with it (written, then lost) from written to dropped.</summary>
    private void CountLost()
    {
        var lost = _output.LostBlocks - _lostSeen;
        if (lost > 0)
        {
            _lostSeen += lost;
            Interlocked.Add(ref _written, -lost);
            _tap.CountLost(lost);
        }
    }

    private sealed class SectionInterface(int id, PortSlot slot, long droppedAtStart)
    {
        public int Id { get; } = id;

        public PortSlot Slot { get; } = slot;

        public long DroppedAtStart { get; } = droppedAtStart;

        public long Captured { get; set; }
    }
}
