using System.Collections.Concurrent;
using UserBridge.Core.Buffers;
using UserBridge.Core.Ports;

namespace UserBridge.Core.Tests;

/// <summary>
/// An in-memory stand-in for epoll: level-triggered over <see cref="PolledMemoryPort"/>s, each "fd" ready while its
/// port holds frames or has failed.
/// </summary>
internal sealed class MemoryPollSet : IPollSet
{
    private readonly Lock _lock = new();
    private readonly Dictionary<int, (PolledMemoryPort Port, int Token)> _watched = [];
    private readonly SemaphoreSlim _changed = new(0);
    private volatile bool _woken;

    public IReadOnlyCollection<int> WatchedFds
    {
        get
        {
            lock (_lock)
            {
                return [.. _watched.Keys];
            }
        }
    }

    public void Add(int fd, int token)
    {
        lock (_lock)
        {
            _watched.Add(fd, (PolledMemoryPort.ByFd(fd), token));
        }

        Signal();
    }

    public void Remove(int fd)
    {
        lock (_lock)
        {
            _watched.Remove(fd);
        }
    }

    public int Wait(Span<PollEvent> ready)
    {
        while (true)
        {
            var count = 0;
            lock (_lock)
            {
                foreach (var (port, token) in _watched.Values)
                {
                    if (count < ready.Length && port.Events != 0)
                    {
                        ready[count++] = new PollEvent(token, port.Events);
                    }
                }
            }

            if (count > 0)
            {
                return count;
            }

            _changed.Wait();
            if (_woken)
            {
                _woken = false;
                return 0;
            }
        }
    }

    public void Wake()
    {
        _woken = true;
        Signal();
    }

    public void Signal() => _changed.Release();

    public void Dispose() => _changed.Dispose();

}

/// <summary>
/// A pollable in-memory port: what <see cref="Inject"/> queues is read by <see cref="TryReceive"/>, at
/// <c>frameOffset</c> in the buffer, which it then sets as the buffer's offset when not 0 (as a TAP with virtio-net
/// headers places frames behind the header); with 0 it leaves the offset alone, as ports that never set it do.
/// </summary>
internal sealed class PolledMemoryPort : IPollablePort
{
    public const int InputEvent = 0x1;
    public const int ErrorEvent = 0x8;

    private static readonly ConcurrentDictionary<int, PolledMemoryPort> s_byFd = new();
    private static int s_lastFd = 1000;

    private readonly ConcurrentQueue<byte[]> _inbound = new();
    private readonly MemoryPollSet _set;
    private volatile bool _failed;
    private int _crashes;
    private int _receives;
    private long _sentCount;

    private readonly ConcurrentQueue<byte[]> _sent = new();
    private readonly int _frameOffset;

    public PolledMemoryPort(string name, MemoryPollSet set, int frameOffset = 0)
    {
        Name = name;
        _set = set;
        _frameOffset = frameOffset;
        PollFd = Interlocked.Increment(ref s_lastFd);
        s_byFd[PollFd] = this;
    }

    public string Name { get; }

    public string Type => "memory";

    public string Interface => Name;

    public int PollFd { get; }

    public long SentCount => Interlocked.Read(ref _sentCount);

    /// <summary>How many times a poller read this port.</summary>
    public int Receives => Volatile.Read(ref _receives);

    public bool Disposed { get; private set; }

    public int Events => _failed ? ErrorEvent : _inbound.IsEmpty && Volatile.Read(ref _crashes) == 0 ? 0 : InputEvent;

    public static PolledMemoryPort ByFd(int fd) => s_byFd[fd];

    public void Inject(byte[] frame)
    {
        _inbound.Enqueue(frame);
        _set.Signal();
    }

    /// <summary>Makes the next read throw a non-port exception: a bug in the poller's path.</summary>
    public void Crash()
    {
        Interlocked.Increment(ref _crashes);
        _set.Signal();
    }

    /// <summary>Reports an error on the fd, as a socket whose interface vanished does.</summary>
    public void Fail()
    {
        _failed = true;
        _set.Signal();
    }

    public int TryReceive(PacketBuffer[] batch, int pollEvents)
    {
        Interlocked.Increment(ref _receives);
        if (Volatile.Read(ref _crashes) > 0)
        {
            Interlocked.Decrement(ref _crashes);
            throw new InvalidOperationException($"read {Name}: a crash the test asked for");
        }

        var count = 0;
        while (count < batch.Length && _inbound.TryDequeue(out var frame))
        {
            var buffer = batch[count];
            if (_frameOffset != 0)
            {
                buffer.Offset = _frameOffset;
            }

            frame.CopyTo(buffer.Array, _frameOffset);
            buffer.Length = frame.Length;
            count++;
        }

        if (count == 0 && (pollEvents & ErrorEvent) != 0)
        {
            throw new PortException($"poll {Name}: the test reported an error");
        }

        return count;
    }

    public int Receive(PacketBuffer[] batch) => throw new InvalidOperationException("a polled port is read by its poller only");

    public void Wake()
    {
    }

    public bool TryTakeSent(out byte[]? frame) => _sent.TryDequeue(out frame);

    public bool Send(ReadOnlySpan<byte> frame)
    {
        _sent.Enqueue(frame.ToArray());
        Interlocked.Increment(ref _sentCount);
        return true;
    }

    public void Dispose()
    {
        Disposed = true;
        s_byFd.TryRemove(PollFd, out _);
    }

}
