using System.Buffers.Binary;
using UserBridge.Core.Buffers;
using UserBridge.Core.Frames;
using UserBridge.Linux.Ports.Packet;

namespace UserBridge.Integration.Tests;

/// <summary>
/// The VLAN rules with hand-made frames: namespaces behind TAP ports send exact tagged and untagged frames over
/// AF_PACKET, and packet sockets in the other namespaces (tags restored from PACKET_AUXDATA) tell what arrived
/// and how it was tagged.
/// Fast where guests would be slow; the kernel VLAN devices are in <see cref="VlanGuestTests"/>.
/// </summary>
public sealed class VlanNamespaceTests : IDisposable
{
    private readonly GuestLab _lab = new();

    private TestNetwork Network => _lab.Network;

    [Fact]
    public void HandMadeFramesAreTaggedUntaggedOrDroppedAsTheirPortsSay()
    {
        Privileged.Require();
        _lab.StartSwitch(
            GuestLab.TapPort("trunk", Network.Tap(1), "mode = \"trunk\"\nallowed = \"10,20\""),
            GuestLab.TapPort("a10", Network.Tap(2), "vlan = 10"),
            GuestLab.TapPort("a20", Network.Tap(3), "vlan = 20"));
        for (var host = 1; host <= 3; host++)
        {
            Network.AddHostWithAddress(host, $"198.18.0.{host}/24");
        }

        var listeners = Enumerable.Range(1, 3).Select(h => NamespaceSockets.OpenPacket(Network.Namespace(h), Network.Tap(h))).ToArray();
        var trunk = listeners[0];
        var access10 = listeners[1];
        Assert.True(trunk.Send(Frame(0x01, vlan: 10, priority: 3)), "send on the trunk namespace failed");
        Assert.True(trunk.Send(Frame(0x02, vlan: 20, priority: 5)));
        Assert.True(trunk.Send(Frame(0x03, vlan: 30, priority: 0)));
        Assert.True(trunk.Send(Frame(0x04, vlan: null, priority: 0)));
        Assert.True(access10.Send(Frame(0x05, vlan: null, priority: 0)));
        Assert.True(access10.Send(Frame(0x06, vlan: 0, priority: 6)));
        Assert.True(access10.Send(Frame(0x07, vlan: 20, priority: 0)));

        var atTrunk = Received(listeners[0]);
        var at10 = Received(listeners[1]);
        var at20 = Received(listeners[2]);
        foreach (var listener in listeners)
        {
            listener.Dispose();
        }

        // Trunk VID 10 -> the VLAN 10 access port, untagged; VID 20 -> VLAN 20; VID 30 and untagged (no native): nowhere.
        Assert.Equal("untagged", at10[0x01]);
        Assert.False(at20.ContainsKey(0x01));
        Assert.Equal("untagged", at20[0x02]);
        Assert.False(at10.ContainsKey(0x02));
        Assert.False(at10.ContainsKey(0x03) || at20.ContainsKey(0x03));
        Assert.False(at10.ContainsKey(0x04) || at20.ContainsKey(0x04));

        // Access 10 -> the trunk tagged 10 with PCP 0; a priority tag's PCP 6 is kept; a VID 20 tag is dropped.
        Assert.Equal("vlan 10, p 0", atTrunk[0x05]);
        Assert.Equal("vlan 10, p 6", atTrunk[0x06]);
        Assert.False(atTrunk.ContainsKey(0x07) || at20.ContainsKey(0x07));

        var ports = Cli.Json("port", "show", "--control", _lab.ControlPath, "-j").EnumerateArray().ToDictionary(p => p.GetProperty("name").GetString()!);
        Assert.Equal(1, ports["trunk"].GetProperty("drops").GetProperty("vlan_not_allowed").GetInt64());
        Assert.True(ports["trunk"].GetProperty("drops").GetProperty("vlan_untagged_on_trunk").GetInt64() >= 1, "the untagged frame on a trunk without native VLAN was not counted");
        Assert.Equal(1, ports["a10"].GetProperty("drops").GetProperty("vlan_tagged_on_access").GetInt64());
    }

    public void Dispose() => _lab.Dispose();

    /// <summary>A broadcast frame from 02:00:00:00:00:ID, EtherType 0x88b5 (local experimental), tagged when a VID is given.</summary>
    private static byte[] Frame(byte id, int? vlan, int priority)
    {
        var tagLength = vlan is null ? 0 : 4;
        var frame = new byte[60 + tagLength];
        MacAddress.Broadcast.Write(frame);
        new MacAddress(0x0200_0000_0000UL | id).Write(frame.AsSpan(6));
        if (vlan is { } vid)
        {
            BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(12), 0x8100);
            BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(14), (ushort)((priority << 13) | vid));
        }

        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(12 + tagLength), 0x88b5);
        return frame;
    }

    /// <summary>
    /// What arrived in a namespace, by sender ID: "untagged" or "vlan V, p P". The packet socket reads the tag the
    /// kernel strips from PACKET_AUXDATA, as libpcap does for tcpdump's 802.1Q decoding.
    /// </summary>
    private static Dictionary<byte, string> Received(PacketSocketPort listener)
    {
        var seen = new Dictionary<byte, string>();
        var pool = new BufferPool();
        var batch = pool.RentBatch(32);
        using var stop = new Timer(_ => listener.Wake(), null, TimeSpan.FromSeconds(1), Timeout.InfiniteTimeSpan);
        int count;
        while ((count = listener.Receive(batch)) > 0)
        {
            foreach (var buffer in batch.Take(count))
            {
                var frame = buffer.Frame;
                var source = MacAddress.Read(frame[6..]);
                if ((source.Value >> 8) != 0x0200_0000_00UL)
                {
                    continue;
                }

                var tagged = BinaryPrimitives.ReadUInt16BigEndian(frame[12..]) == 0x8100;
                var tci = tagged ? BinaryPrimitives.ReadUInt16BigEndian(frame[14..]) : 0;
                seen[(byte)source.Value] = tagged ? $"vlan {tci & 0xfff}, p {tci >> 13}" : "untagged";
            }
        }

        pool.ReturnBatch(batch);
        return seen;
    }
}
