using System.Collections.Concurrent;
using UserBridge.Core.Buffers;

namespace UserBridge.Core.Ports;

/// <summary>
/// An in-memory port for tests and benchmarks: frames injected with <see cref="Inject"/> are received by the
/// worker; frames the switch sends are kept in <see cref="Sent"/> (unless <c>keepSent</c> is false, in which
/// case they are only counted).
/// </summary>
public sealed class MemoryPort(string name, bool keepSent = true) : IPort
{
    private readonly BlockingCollection<byte[]> _inbound = [];
    private readonly ConcurrentQueue<byte[]> _sent = new();
    private readonly CancellationTokenSource _wake = new();
    private long _sentCount;
    private volatile bool _failed;
    private int _crashes;

    public string Name { get; } = name;

    public string Type => "memory";

    public string Interface => Name;

    /// <summary>When true, <see cref="Send"/> refuses frames (a port whose peer is gone).</summary>
    public bool RefuseSends { get; set; }

    public long SentCount => Interlocked.Read(ref _sentCount);

    public IReadOnlyCollection<byte[]> Sent => _sent;

    public void Inject(byte[] frame) => _inbound.Add(frame);

    /// <summary>Makes the next receive throw, as a port whose interface vanished does.</summary>
    public void Fail()
    {
        _failed = true;
        _inbound.Add([]);
    }

    /// <summary>Makes the next receive throw a non-port exception: a bug in the worker's path, for crash recovery tests.</summary>
    public void Crash()
    {
        Interlocked.Increment(ref _crashes);
        _inbound.Add([]);
    }

    public bool TryTakeSent(out byte[]? frame) => _sent.TryDequeue(out frame);

    public int Receive(PacketBuffer[] batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        byte[] frame;
        try
        {
            frame = _inbound.Take(_wake.Token);
        }
        catch (OperationCanceledException)
        {
            return 0;
        }

        var count = 0;
        do
        {
            if (_failed)
            {
                throw new PortException($"read {Name}: the port was failed by the test");
            }

            if (frame.Length == 0 && Volatile.Read(ref _crashes) > 0)
            {
                Interlocked.Decrement(ref _crashes);
                throw new InvalidOperationException($"read {Name}: a crash the test asked for");
            }

            frame.CopyTo(batch[count].Array, 0);
            batch[count].Length = frame.Length;
            count++;
        }
        while (count < batch.Length && _inbound.TryTake(out frame!));

        return count;
    }

    public void Wake() => _wake.Cancel();

    public bool Send(ReadOnlySpan<byte> frame)
    {
        if (RefuseSends)
        {
            return false;
        }

        // Kept before counted: a test that waits for the count then takes the frame must find it.
        if (keepSent)
        {
            _sent.Enqueue(frame.ToArray());
        }

        Interlocked.Increment(ref _sentCount);
        return true;
    }

    public void Dispose()
    {
        _wake.Cancel();
        _inbound.Dispose();
        _wake.Dispose();
    }
}
