using UserBridge.Core.Buffers;
using UserBridge.Core.Ports;

namespace UserBridge.Core.Tests.Allocation;

/// <summary>
/// A port for allocation tests: it counts what it is sent and keeps a copy of the last frame in a buffer of its own,
/// so that sending to it allocates nothing (a <see cref="MemoryPort"/> that keeps what it is sent copies every frame).
/// The worker never runs: nothing is received.
/// </summary>
internal sealed class LastFramePort(string name) : IPort
{
    private readonly byte[] _last = new byte[BufferPool.DefaultBufferSize + 8];
    private int _lastLength;

    public string Name { get; } = name;

    public string Type => "memory";

    public string Interface => Name;

    public int SentCount { get; private set; }

    /// <summary>A copy of the last frame sent.</summary>
    public byte[] Last => _last.AsSpan(0, _lastLength).ToArray();

    /// <summary>Forgets what was sent so far.</summary>
    public void Forget() => (SentCount, _lastLength) = (0, 0);

    public int Receive(PacketBuffer[] batch) => 0;

    public void Wake()
    {
    }

    public bool Send(ReadOnlySpan<byte> frame)
    {
        frame.CopyTo(_last);
        _lastLength = frame.Length;
        SentCount++;
        return true;
    }

    public void Dispose()
    {
    }
}
