using System.Buffers.Binary;
using System.Text.Json;
using UserBridge.Core.Buffers;
using UserBridge.Core.Frames;
using UserBridge.Linux.Ports.Packet;

namespace UserBridge.Integration.Tests;

/// <summary>
/// Bad input and link-local frames sent into real TAP ports from a namespace's packet socket: each dropped and counted
/// under its own reason in <c>port show</c>, the switch forwarding on; BPDU guard takes its port down until
/// <c>port set --up</c>, the other ports untouched.
/// </summary>
public sealed class GuardTapTests : IDisposable
{
    private static readonly MacAddress Host = new(0x0200_0000_5e01UL);

    private readonly SwitchLab _lab = new();

    public void Dispose() => _lab.Dispose();

    [Fact]
    public void BadFramesAreDroppedUnderTheirOwnReasonsAndABpduShutsTheGuardedPortUntilItIsBroughtUp()
    {
        Privileged.Require(["ping"]);
        _lab.Start("--config", _lab.WriteConfig(_lab.TapPort(1, "bpdu_guard = true") + _lab.TapPort(2) + _lab.TapPort(3)));
        for (var host = 1; host <= 3; host++)
        {
            _lab.Network.AddHost(host);
        }

        using (var sender = NamespaceSockets.OpenPacket(_lab.Network.Namespace(1), _lab.Network.Tap(1)))
        {
            Assert.True(sender.Send(Frame(MacAddress.Broadcast, new MacAddress(0))), "sending from host 1 failed");
            Assert.True(sender.Send(Frame(MacAddress.Broadcast, Host, vlan: 4095)));
            Assert.True(sender.Send(Frame(MacAddress.Broadcast, Host, vlan: 10).AsSpan(0, 16)));
            Assert.True(sender.Send(Frame(MacAddress.Parse("01:80:c2:00:00:0e"), Host)));
            Waiting.Until(() => Drops(1).GetProperty("link_local").GetInt64() == 1, "the LLDP frame to be counted", TimeSpan.FromSeconds(10));
            var drops = Drops(1);
            Assert.Equal(1, drops.GetProperty("zero_source").GetInt64());
            Assert.Equal(1, drops.GetProperty("reserved_vlan").GetInt64());
            Assert.Equal(1, drops.GetProperty("truncated_tag").GetInt64());
            Assert.Equal(0, _lab.Network.Ping(1, 2).ExitCode);

            Assert.True(sender.Send(Frame(MacAddress.Parse("01:80:c2:00:00:00"), Host)));
        }

        Waiting.Until(() => Port(1).GetProperty("state").GetString() == "down", "BPDU guard to take p1 down", TimeSpan.FromSeconds(10));
        Assert.Equal(1, Port(1).GetProperty("shutdowns").GetInt64());
        Assert.True(Port(1).GetProperty("bpdu_guard").GetBoolean());
        Assert.Equal(1, Drops(1).GetProperty("bpdu_guard").GetInt64());
        Assert.NotEqual(0, _lab.Network.Ping(1, 2, count: 1).ExitCode);
        Assert.Equal(0, _lab.Network.Ping(2, 3).ExitCode);
        Waiting.Until(() => (_lab.Switch!.Output + _lab.Switch.Errors).Contains("shut down: bpdu_guard", StringComparison.Ordinal), "the shutdown to be logged", TimeSpan.FromSeconds(5));

        Cli.Run("port", "set", "p1", "--up", "--control", _lab.Control);
        Assert.Equal("up", Port(1).GetProperty("state").GetString());
        Assert.Equal(0, _lab.Network.Ping(1, 2).ExitCode);
    }

    [Fact]
    public void StormControlLetsABroadcastStormThroughAtItsRateWhileTheOtherPortsTalk()
    {
        Privileged.Require(["ping"]);
        _lab.Start("--config", _lab.WriteConfig(_lab.TapPort(1, "storm = { broadcast_pps = 20 }") + _lab.TapPort(2) + _lab.TapPort(3)));
        for (var host = 1; host <= 3; host++)
        {
            _lab.Network.AddHost(host);
        }

        using var listener = NamespaceSockets.OpenPacket(_lab.Network.Namespace(2), _lab.Network.Tap(2));
        using (var sender = NamespaceSockets.OpenPacket(_lab.Network.Namespace(1), _lab.Network.Tap(1)))
        {
            for (var i = 0; i < 500; i++)
            {
                Assert.True(sender.Send(Frame(MacAddress.Broadcast, Host)), $"sending broadcast {i} failed");
            }
        }

        Waiting.Until(() => Drops(1).GetProperty("storm_broadcast").GetInt64() + StormPassed() >= 500, "the storm to be read", TimeSpan.FromSeconds(10));
        var passed = Received(listener, Host);
        Assert.InRange(passed, 20, 40);
        Assert.Equal(500 - passed, Drops(1).GetProperty("storm_broadcast").GetInt64());
        Assert.Equal(20, Port(1).GetProperty("storm").GetProperty("broadcast_pps").GetInt32());
        Assert.Equal(0, _lab.Network.Ping(2, 3).ExitCode);
    }

    private long StormPassed() => Port(1).GetProperty("floods").GetInt64();

    /// <summary>How many frames from <paramref name="source"/> reach <paramref name="listener"/> within a second of quiet.</summary>
    private static int Received(PacketSocketPort listener, MacAddress source)
    {
        var pool = new BufferPool();
        var batch = pool.RentBatch(32);
        var seen = 0;
        using var stop = new Timer(_ => listener.Wake(), null, TimeSpan.FromSeconds(1), Timeout.InfiniteTimeSpan);
        int count;
        while ((count = listener.Receive(batch)) > 0)
        {
            seen += batch.Take(count).Count(buffer => MacAddress.Read(buffer.Frame[6..]) == source);
        }

        pool.ReturnBatch(batch);
        return seen;
    }

    private JsonElement Port(int host) =>
        Cli.Json("port", "show", "--port", $"p{host}", "--control", _lab.Control, "-j")[0];

    private JsonElement Drops(int host) => Port(host).GetProperty("drops");

    private static byte[] Frame(MacAddress destination, MacAddress source, int? vlan = null)
    {
        var tagLength = vlan is null ? 0 : 4;
        var frame = new byte[60 + tagLength];
        destination.Write(frame);
        source.Write(frame.AsSpan(6));
        if (vlan is { } vid)
        {
            BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(12), 0x8100);
            BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(14), (ushort)vid);
        }

        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(12 + tagLength), 0x88b5);
        return frame;
    }
}
