using Microsoft.Extensions.Logging.Abstractions;
using UserBridge.Core.Ports;
using UserBridge.Core.Switching;
using UserBridge.Linux.Ports;
using UserBridge.Linux.Ports.Packet;

namespace UserBridge.Integration.Tests;

/// <summary>The packet port type in-process, on a veth pair of the test's.</summary>
public sealed class PacketPortTests : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    private readonly TestNetwork _network = new();
    private readonly string _veth;
    private readonly string _peer;

    public PacketPortTests()
    {
        _veth = $"{_network.Prefix}-v1";
        _peer = $"{_network.Prefix}-v2";
    }

    public void Dispose()
    {
        if (TestNetwork.InterfaceExists(_veth))
        {
            Shell.Run("ip", "link", "delete", "dev", _veth);
        }

        _network.Dispose();
    }

    /// <summary>
    /// QEMU leaves a VM's TAP down; the port brings it up. A packet socket bound while its interface is down keeps an
    /// ENETDOWN pending that fails its first read: the port must bring the interface up first, and take the first frame
    /// without failing and coming back.
    /// </summary>
    [Fact]
    public void APortOnAnInterfaceThatIsDownBringsItUpAndTakesTheFirstFrameWithoutFailing()
    {
        Privileged.Require();
        Shell.Check("ip", "link", "add", _veth, "type", "veth", "peer", "name", _peer);
        Shell.Check("ip", "link", "set", _peer, "up");
        using var bridge = new Bridge(new BridgeOptions());
        var host = new MemoryPort("host", keepSent: false);
        bridge.AddPort(host);
        using (PacketPortType.Instance.Open(new PacketSettings(_veth), new PortOpening(bridge, "vm", null, PortGuard.None, NullLogger.Instance, _ => { })))
        {
            Assert.True(bridge.Snapshot.Find("vm") is { IsUp: true }, "the port is not up once opened");
            bridge.Start();

            using (var peer = PacketSocketPort.Open(_peer))
            {
                var frame = new byte[60];
                frame.AsSpan(0, 6).Fill(0xFF);
                frame[6] = 0x02;
                frame[11] = 0x01;
                frame[12] = 0x88;
                frame[13] = 0xB5;
                Assert.True(peer.Send(frame));
            }

            Waiting.Until(() => host.SentCount > 0, "the frame sent into the veth to be flooded to the other port", Deadline);
            Assert.Equal(0, bridge.Failures(PortFailure.Error));
            Assert.True(bridge.Snapshot.Find("vm") is { IsUp: true }, "the port is down");
        }
    }
}
