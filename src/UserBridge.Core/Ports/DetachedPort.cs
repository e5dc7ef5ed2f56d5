using UserBridge.Core.Buffers;

namespace UserBridge.Core.Ports;

/// <summary>
/// Stands in, administratively down, for a supervised port whose far end is gone (the VM stopped, its
/// interface vanished), so that <c>port show</c> still lists the port as down rather than forgetting it.
/// It receives nothing and refuses every send.
/// </summary>
internal sealed class DetachedPort(string name, string type, string interfaceName) : IPort
{
    private readonly ManualResetEventSlim _wake = new(false);

    public string Name { get; } = name;

    public string Type { get; } = type;

    public string Interface { get; } = interfaceName;

    public int Receive(PacketBuffer[] batch)
    {
        _wake.Wait();
        _wake.Reset();
        return 0;
    }

    public void Wake() => _wake.Set();

    public bool Send(ReadOnlySpan<byte> frame) => false;

    public void Dispose() => _wake.Dispose();
}
