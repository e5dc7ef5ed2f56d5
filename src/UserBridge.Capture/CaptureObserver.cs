using UserBridge.Core.Buffers;
using UserBridge.Core.Learning;
using UserBridge.Core.Observers;
using UserBridge.Core.Ports;

namespace UserBridge.Capture;

/// <summary>
/// The workers' side of a capture: filters each copy offered, then copies at most the snap length into the ring.
/// When the ring is full the copy is dropped and counted (per port, in the capture and in the port's counters);
/// the frame itself has been or will be forwarded regardless. Never blocks, never allocates once the ring's slots
/// have grown to the largest frame seen.
/// </summary>
internal sealed class CaptureObserver : FrameObserver, IDisposable
{
    /// <summary>How long a copy may wait in the ring before the writer takes it (a live view stays live).</summary>
    private static readonly TimeSpan WriterLatency = TimeSpan.FromMilliseconds(5);

    private readonly PacketFilter? _filter;
    private readonly int _snapLength;
    private readonly long[] _droppedByPort = new long[MacTable.MaxPorts];
    private long _dropped;
    private volatile bool _closed;

    public CaptureObserver(CaptureOptions options, PacketFilter? filter)
    {
        _filter = filter;
        _snapLength = options.SnapLength;
        Ring = new FrameRing<CaptureRecord>(options.RingCapacity, WriterLatency);
    }

    public FrameRing<CaptureRecord> Ring { get; }

    /// <summary>Copies the ring had no room for.</summary>
    public long Dropped => Volatile.Read(ref _dropped);

    public long DroppedOn(int portIndex) => Volatile.Read(ref _droppedByPort[portIndex]);

    /// <summary>Stops taking copies (the capture reached its count); the workers may still offer some.</summary>
    public void Close() => _closed = true;

    public override void Observe(in ObservedFrame copy)
    {
        if (_closed)
        {
            return;
        }

        var frame = copy.Frame;
        if (_filter is not null && !_filter.Matches(frame))
        {
            return;
        }

        var record = new CaptureRecord(copy.Port, copy.Direction, copy.Decision, copy.Stamp, frame.Length);
        if (!Ring.TryEnqueue(frame.Length > _snapLength ? frame[.._snapLength] : frame, record))
        {
            CountDrop(copy.Port);
        }
    }

    /// <summary>Counts copies that were written and then lost with the output's failed write, their ports unknown.</summary>
    public void CountLost(long copies) => Interlocked.Add(ref _dropped, copies);

    /// <summary>Counts a copy that was taken but could not be written (a full disk).</summary>
    public void CountDrop(PortSlot port)
    {
        Interlocked.Increment(ref _dropped);
        Interlocked.Increment(ref _droppedByPort[port.Index]);
        port.Counters.CountCaptureDrop();
    }

    public void Dispose()
    {
        Ring.Dispose();
        _filter?.Dispose();
    }
}
