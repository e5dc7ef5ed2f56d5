using UserBridge.Core.Buffers;
using UserBridge.Core.Offload;
using UserBridge.Core.Ports;

namespace UserBridge.Core.Tests.Vlan;

/// <summary>A port that takes offloads (as a TAP with a virtio-net header does) and keeps each frame with its header.</summary>
internal sealed class OffloadRecordingPort(string name) : IPort, IOffloadPort
{
    public string Name { get; } = name;

    public string Type => "memory";

    public string Interface => Name;

    public bool AcceptsOffloads => true;

    public List<(byte[] Frame, VirtioNetHeader Offload)> Sent { get; } = [];

    public int Receive(PacketBuffer[] batch) => 0;

    public void Wake()
    {
    }

    public bool Send(ReadOnlySpan<byte> frame) => Send(frame, VirtioNetHeader.None);

    public bool Send(ReadOnlySpan<byte> frame, in VirtioNetHeader offload)
    {
        Sent.Add((frame.ToArray(), offload));
        return true;
    }

    public void Dispose()
    {
    }
}
