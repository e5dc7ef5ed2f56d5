using System.Net;

namespace UserBridge.Integration.Tests;

/// <summary>
/// A Geneve port against the Linux kernel's <c>geneve</c> device. The host kernel has none, so the peer is a QEMU guest
/// (Debian's kernel): its eth0 is a stream port of the switch, and the switch's own Geneve socket sits in an underlay
/// namespace joined to the switch by a veth (a packet port), so the underlay runs through the switch too. Host 3, behind
/// a TAP port, and the guest's geneve device ping each other across the overlay, and the guest sends host 3 10 MiB over TCP.
/// </summary>
public sealed class GeneveGuestTests : IDisposable
{
    private const string Inner = "198.18.50";
    private const int TransferBytes = 10 * 1024 * 1024;
    private static readonly TimeSpan GuestDeadline = TimeSpan.FromMinutes(4);
    private readonly GuestLab _lab = new();

    private string Underlay => $"{_lab.Prefix}-ua";

    public void Dispose()
    {
        _lab.Dispose();
        Shell.Run("ip", "netns", "delete", Underlay);
    }

    [Fact]
    public async Task AHostBehindUserBridgeAndAKernelGenevePeerPingAndMoveTenMebibytes()
    {
        Privileged.RequireGuestsOnSwitch(["ping"]);
        AddUnderlay();

        _lab.StartSwitch(
            _lab.StreamPort("vm1", "vm1.sock"),
            GuestLab.PacketPort("under", $"{_lab.Prefix}-uz"),
            GuestLab.TapPort("p3", _lab.Network.Tap(3)),
            $"""
            [[port]]
            name = "gn"
            type = "geneve"
            vni = 42
            netns = "{Underlay}"
            local = "198.18.0.1"
            remotes = ["198.18.0.2"]
            """);
        _lab.Network.AddHostWithAddress(3, $"{Inner}.1/24");
        Shell.Check("ip", "-n", _lab.Network.Namespace(3), "link", "set", "dev", _lab.Network.Tap(3), "mtu", OverlayUnderlay.HostMtu);

        // Host 3 takes one TCP stream from the guest and hashes it.
        using var listener = NamespaceSockets.Listen(_lab.Network.Namespace(3), new IPEndPoint(IPAddress.Parse($"{Inner}.1"), 5201));
        var receiving = Task.Run(() => NamespaceSockets.ReceiveOne(listener), TestContext.Current.CancellationToken);

        var guest = _lab.Guest("gn", _lab.StreamClient("vm1.sock"), "52:54:00:18:09:02", "198.18.0.2/24", $$"""
            set -e
            ip link add gn0 type geneve id 42 remote 198.18.0.1 dstport 6081
            ip addr add {{Inner}}.2/24 dev gn0
            ip link set gn0 up
            echo "GENEVE-MAC $(cat /sys/class/net/gn0/address)"
            set +e
            tries=0
            until ping -c 1 -W 1 {{Inner}}.1 >/dev/null 2>&1; do
                tries=$((tries + 1))
                [ "$tries" -lt 40 ] || { echo "GENEVE failed"; exit 0; }
            done
            echo "GENEVE ok"
            dd if=/dev/urandom of=/tmp/sent bs=65536 count={{TransferBytes / 65536}} 2>/dev/null
            echo "TX-SHA256 $(sha256sum /tmp/sent | cut -d' ' -f1)"
            nc {{Inner}}.1 5201 </tmp/sent && echo "SENT ok"
            """);
        var result = guest.WaitForResult(GuestDeadline);

        Assert.True(result.ExitCode == 0, $"the guest failed: {result}");
        Assert.True(result.ValueOf("GENEVE") == "ok", $"the guest's geneve device never reached host 3.\n{result}");
        Assert.True(result.ValueOf("SENT") == "ok", $"the guest could not send its 10 MiB.\n{result}");
        var received = await receiving.WaitAsync(TimeSpan.FromMinutes(1), TestContext.Current.CancellationToken);
        Assert.Equal(TransferBytes, received.Bytes);
        Assert.Equal(result.ValueOf("TX-SHA256"), Convert.ToHexStringLower(received.Sha256));

        var fdb = Cli.Json("fdb", "show", "--control", _lab.ControlPath, "--port", "gn", "-j").EnumerateArray().ToList();
        Assert.Contains(fdb, row => row.GetProperty("mac").GetString() == result.ValueOf("GENEVE-MAC") && row.GetProperty("remote").GetString() == "198.18.0.2");
        Assert.Equal(0, Cli.Json("port", "show", "--port", "gn", "--control", _lab.ControlPath, "-j")[0].GetProperty("drops").GetProperty("overlay_malformed").GetInt64());
    }

    /// <summary>The namespace of the switch's Geneve socket (198.18.0.1), joined by a veth to the switch's packet port.</summary>
    private void AddUnderlay()
    {
        Shell.Check("ip", "netns", "add", Underlay);
        Shell.Check("ip", "link", "add", $"{_lab.Prefix}-uz", "type", "veth", "peer", "name", $"{_lab.Prefix}-ua0", "netns", Underlay);
        Shell.Check("ip", "-n", Underlay, "address", "add", "198.18.0.1/24", "dev", $"{_lab.Prefix}-ua0");
        Shell.Check("ip", "-n", Underlay, "link", "set", $"{_lab.Prefix}-ua0", "up");
        Shell.Check("ip", "link", "set", $"{_lab.Prefix}-uz", "up");
    }
}
