namespace UserBridge.Integration.Tests;

/// <summary>
/// QinQ and full-size frames against the kernel: a customer guest with an 802.1Q subinterface on a dot1q-tunnel
/// port, and on the far side of a 0x88a8 trunk a guest with a kernel 802.1ad device carrying an 802.1Q device.
/// </summary>
public sealed class QinqGuestTests : IDisposable
{
    private static readonly TimeSpan GuestDeadline = TimeSpan.FromMinutes(4);
    private readonly GuestLab _lab = new();

    [Fact]
    public void ACustomerVlanCrossesAn8021adTrunkInsideItsServiceTagWithFullSizeFrames()
    {
        Privileged.RequireGuestsOnSwitch();
        _lab.StartSwitch(
            _lab.StreamPort("customer", "customer.sock", "mode = \"dot1q-tunnel\"\nvlan = 100"),
            _lab.StreamPort("provider", "provider.sock", "mode = \"trunk\"\nallowed = \"100\"\ntpid = \"0x88a8\""));

        // The provider side: eth0.100 is an 802.1ad S-VLAN device, eth0.100.10 the customer's 802.1Q VLAN in it.
        const string provider = """
            set -e
            ip link add link eth0 name eth0.100 type vlan protocol 802.1ad id 100
            ip link set eth0.100 up
            ip link add link eth0.100 name eth0.100.10 type vlan protocol 802.1Q id 10
            ip link set eth0.100.10 mtu 1500
            ip link set eth0.100.10 up
            ip addr add 198.18.10.2/24 dev eth0.100.10
            ip -d link show eth0.100 | grep -o 'vlan protocol 802.1ad id 100'
            """;
        var customer = Guest("c", "customer", "52:54:00:18:03:01", "198.18.0.1/24", GuestScripts.PingUntilAnswered("198.18.10.2") + "\n" + FullSizePing("198.18.10.2") + "sleep 6\n", ["10@198.18.10.1/24"], mtu: 1508);
        var far = Guest("p", "provider", "52:54:00:18:03:02", "198.18.0.2/24", provider + "\n" + GuestScripts.PingUntilAnswered("198.18.10.1") + "\nsleep 8\n", null, mtu: 1508);

        var customerResult = customer.WaitForResult(GuestDeadline);
        var farResult = far.WaitForResult(GuestDeadline);
        Assert.True(customerResult.ExitCode == 0, $"the customer guest failed: {customerResult}\n\nprovider: {farResult}");
        Assert.True(farResult.ExitCode == 0, $"the provider guest failed: {farResult}\n\ncustomer: {customerResult}");
        Assert.NotNull(customerResult.ValueOf("FULL-SIZE-OK"));
    }

    public void Dispose() => _lab.Dispose();

    /// <summary>A 1472-byte ICMP payload makes a 1500-byte IP packet: the largest that fits, so nothing fragments.</summary>
    private static string FullSizePing(string address) =>
        $"if ping -c 3 -s 1472 -W 2 {address} | grep -q ' 0% packet loss'; then echo FULL-SIZE-OK 1472; else echo FULL-SIZE-LOST 1472; exit 4; fi\n";

    private QemuGuest Guest(string name, string port, string mac, string address, string script, IReadOnlyList<string>? vlans, int mtu) =>
        _lab.Guest(name, _lab.StreamClient(port + ".sock"), mac, address, $"ip link set eth0 mtu {mtu}\n" + script, vlans);
}
