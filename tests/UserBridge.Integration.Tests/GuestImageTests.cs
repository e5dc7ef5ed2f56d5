using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;

namespace UserBridge.Integration.Tests;

/// <summary>
/// The guest fixture on its own, without the switch: two guests wired to each other by one QEMU stream socket,
/// and the 802.1Q devices the host kernel lacks, inside a guest.
/// </summary>
public sealed class GuestImageTests : IDisposable
{
    /// <summary>Two TCG guests boot in about 5 s each on 2 cores; the rest is headroom for a loaded machine.</summary>
    private static readonly TimeSpan GuestDeadline = TimeSpan.FromMinutes(3);

    private static readonly TimeSpan SocketDeadline = TimeSpan.FromSeconds(30);

    private const string ReceiverAddress = "198.18.0.11";

    private readonly string _prefix = "ubg" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3));
    private readonly List<QemuGuest> _guests = [];
    private readonly string _socket;

    public GuestImageTests() => _socket = Path.Combine(Path.GetTempPath(), $"{_prefix}.sock");

    [Fact]
    public void TwoGuestsOnOneStreamSocketPingAndMoveOneMebibyteIntact()
    {
        Privileged.RequireGuests();
        var receiver = Start(
            "a",
            ["-netdev", $"stream,id=n0,server=on,addr.type=unix,addr.path={_socket}", .. QemuGuest.VirtioNic("n0", "52:54:00:18:00:11")],
            "52:54:00:18:00:11",
            $"{ReceiverAddress}/24",
            GuestScripts.Receiver);
        WaitForSocket(receiver);
        var sender = Start(
            "b",
            ["-netdev", $"stream,id=n0,server=off,addr.type=unix,addr.path={_socket}", .. QemuGuest.VirtioNic("n0", "52:54:00:18:00:12")],
            "52:54:00:18:00:12",
            "198.18.0.12/24",
            GuestScripts.Sender(ReceiverAddress));

        var sent = sender.WaitForResult(GuestDeadline);
        var received = receiver.WaitForResult(GuestDeadline);

        GuestScripts.AssertTransfer(sent, received);
        ReportBootTimes();
    }

    [Fact]
    public void AGuestGetsVlanSubinterfacesFromBusyboxIpAndFromTheCommandLine()
    {
        Privileged.RequireGuests();
        const string mac = "52:54:00:18:00:21";
        const string script = """
            set -e
            grep '^8021q ' /proc/modules
            busybox ip link add link eth0 name eth0.10 type vlan id 10
            busybox ip link set eth0.10 up
            ip -d link show eth0.10
            ip -d link show eth0.20
            ip -o -4 addr show dev eth0.20
            head -1 /proc/net/vlan/eth0.10
            """;

        // A hub with no other port: the guest has its NIC and nothing on the wire.
        var guest = Start("v", ["-netdev", "hubport,id=n0,hubid=0", .. QemuGuest.VirtioNic("n0", mac)], mac, "198.18.0.21/24", script, ["20@198.18.20.21/24"]);
        var result = guest.WaitForResult(GuestDeadline);

        Assert.True(result.ExitCode == 0, $"the guest failed: {result}");
        var console = string.Join('\n', result.Console);
        Assert.Contains("8021q ", console, StringComparison.Ordinal);
        Assert.Matches(@"eth0\.10@eth0: <[^>]*\bUP\b", console);
        Assert.Contains($"link/ether {guest.Mac} ", console, StringComparison.Ordinal);
        Assert.Contains("vlan protocol 802.1Q id 10 ", console, StringComparison.Ordinal);
        Assert.Contains("vlan protocol 802.1Q id 20 ", console, StringComparison.Ordinal);
        Assert.Matches(@"eth0\.20\s+inet 198\.18\.20\.21/24", console);
        Assert.Matches(@"eth0\.10\s+VID: 10\b", console);
        ReportBootTimes();
    }

    public void Dispose()
    {
        foreach (var guest in _guests)
        {
            guest.Dispose();
        }

        File.Delete(_socket);
    }

    private QemuGuest Start(string name, IEnumerable<string> netdevArguments, string mac, string ipWithPrefix, string script, IReadOnlyList<string>? vlans = null)
    {
        var guest = QemuGuest.Start($"{_prefix}-{name}", netdevArguments, mac, ipWithPrefix, script, vlans);
        _guests.Add(guest);
        return guest;
    }

    /// <summary>QEMU creates its listening socket before the guest runs; a client started earlier would fail.</summary>
    private void WaitForSocket(QemuGuest server)
    {
        var watch = Stopwatch.StartNew();
        while (!File.Exists(_socket))
        {
            Assert.False(server.HasExited, $"guest {server.Name} exited before creating {_socket}.\n{server.Describe()}");
            Assert.True(watch.Elapsed < SocketDeadline, $"guest {server.Name} did not create {_socket} within {SocketDeadline}.\n{server.Describe()}");
            Thread.Sleep(20);
        }
    }

    private void ReportBootTimes()
    {
        foreach (var guest in _guests)
        {
            TestContext.Current.TestOutputHelper?.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"guest {guest.Name}: {guest.BootTime?.TotalSeconds:F2} s from starting QEMU to the init's first line"));
        }
    }
}
