using System.Buffers.Binary;
using System.Net.Sockets;
using UserBridge.Core.Frames;

namespace UserBridge.Integration.Tests;

/// <summary>
/// A QEMU stream peer that stops reading, against the real process: a third host sends it more than its socket and
/// bounded queue hold, the queue refuses the rest (counted as the peer's own send errors), and a ping between two other
/// TAP hosts loses nothing meanwhile. (A stalled capture reader and a full capture disk are the capture tests' part.)
/// </summary>
public sealed class IsolationTests : IDisposable
{
    private const int Frames = 20_000;
    private static readonly MacAddress StalledMac = MacAddress.Parse("52:54:00:00:00:5e");

    private readonly SwitchLab _lab = new();

    public void Dispose() => _lab.Dispose();

    [Fact]
    public async Task AStreamPeerThatStopsReadingLosesOnlyItsOwnFramesAndAPingElsewhereLosesNone()
    {
        Privileged.Require(["ping"]);
        var path = Path.Combine(_lab.Directory, "stalled.sock");
        _lab.Start("--config", _lab.WriteConfig(_lab.TapPort(1) + _lab.TapPort(2) + _lab.TapPort(3) + $"[[port]]\nname = \"stalled\"\ntype = \"qemu-stream\"\npath = \"{path}\"\n"));
        for (var host = 1; host <= 3; host++)
        {
            _lab.Network.AddHost(host);
        }

        // The peer says hello once (so that its MAC is learned on its port), then never reads again.
        using var stalled = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        stalled.Connect(new UnixDomainSocketEndPoint(path));
        Waiting.Until(() => Port("stalled").GetProperty("state").GetString() == "up", "the stalled peer's port", TimeSpan.FromSeconds(10));
        var hello = new byte[4 + 60];
        BinaryPrimitives.WriteInt32BigEndian(hello, 60);
        MacAddress.Broadcast.Write(hello.AsSpan(4));
        StalledMac.Write(hello.AsSpan(10));
        BinaryPrimitives.WriteUInt16BigEndian(hello.AsSpan(16), 0x88b5);
        stalled.Send(hello);
        Assert.Equal(0, _lab.Network.Ping(1, 2).ExitCode);

        // Host 3 sends the peer more than its socket and queue hold; hosts 1 and 2 ping meanwhile.
        using var ping = BackgroundPing.Start(_lab.Network.Namespace(1), TestNetwork.Address(2), intervalSeconds: 0.01);
        using (var sender = NamespaceSockets.OpenPacket(_lab.Network.Namespace(3), _lab.Network.Tap(3)))
        {
            var frame = new byte[1400];
            StalledMac.Write(frame);
            new MacAddress(0x0200_0000_5e03UL).Write(frame.AsSpan(6));
            BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(12), 0x88b5);
            for (var i = 0; i < Frames; i++)
            {
                sender.Send(frame);
            }
        }

        Waiting.Until(() => Port("stalled").GetProperty("tx_errors").GetInt64() > 0, "the stalled peer's queue to refuse frames", TimeSpan.FromSeconds(20));
        Assert.Equal(0, _lab.Network.Ping(1, 2).ExitCode);
        var summary = await ping.StopAsync();

        Assert.True(summary.Contains(" 0% packet loss", StringComparison.Ordinal), summary);
        Assert.Equal("up", Port("stalled").GetProperty("state").GetString());
    }

    private System.Text.Json.JsonElement Port(string name) =>
        Cli.Json("port", "show", "--port", name, "--control", _lab.Control, "-j")[0];
}
