namespace UserBridge.Integration.Tests;

/// <summary>
/// whose underlay runs through the switch: each tunnel's inner addresses must reach each other. The host kernel has
/// none of these devices; the guests' Debian kernel has them all.
/// </summary>
public sealed class TunnelGuestTests : IDisposable
{
    private static readonly TimeSpan GuestDeadline = TimeSpan.FromMinutes(4);
    private static readonly string[] Tunnels = ["ipip", "gre", "sit", "isatap", "vti", "gretap"];
    private readonly GuestLab _lab = new();

    [Fact]
    public void EveryTunnelTypeCarriesTrafficBetweenTwoGuestsAcrossTheSwitch()
    {
        Privileged.RequireGuestsOnSwitch();
        _lab.StartSwitch(_lab.StreamPort("vm1", "vm1.sock"), _lab.StreamPort("vm2", "vm2.sock"));

        var one = Guest(1);
        var two = Guest(2);
        var first = one.WaitForResult(GuestDeadline);
        var second = two.WaitForResult(GuestDeadline);

        foreach (var (result, name) in new[] { (first, "guest 1"), (second, "guest 2") })
        {
            Assert.True(result.ExitCode == 0, $"{name} failed: {result}");
            foreach (var tunnel in Tunnels)
            {
                Assert.True(result.ValueOf($"TUNNEL-{tunnel}") == "ok", $"{name}: the {tunnel} tunnel carried no traffic.\n{result}");
            }
        }
    }

    public void Dispose() => _lab.Dispose();

    /// <summary>
    /// Side <paramref name="me"/> of every tunnel. Each tunnel has its own underlay address pair (198.18.0.1x for
    /// ipip, .2x for gre, ...) so that tunnels of one protocol never compete for the same endpoints; inner
    /// addresses are 198.18.10N.x, and 2001:2::/48 (the IPv6 benchmarking range) inside sit and isatap.
    /// </summary>
    private static string Script(int me)
    {
        var peer = 3 - me;
        return $$"""
            set -e
            for n in 1 2 3 4 5 6; do ip addr add 198.18.0.${n}{{me}}/24 dev eth0; done
            ip tunnel add ipip1 mode ipip local 198.18.0.1{{me}} remote 198.18.0.1{{peer}}
            ip addr add 198.18.101.{{me}}/24 dev ipip1
            ip tunnel add gre1 mode gre local 198.18.0.2{{me}} remote 198.18.0.2{{peer}}
            ip addr add 198.18.102.{{me}}/24 dev gre1
            ip tunnel add sit1 mode sit local 198.18.0.3{{me}} remote 198.18.0.3{{peer}}
            ip -6 addr add 2001:2:0:3::{{me}}/64 dev sit1
            ip tunnel add isatap1 mode isatap local 198.18.0.4{{me}}
            ip -6 addr add 2001:2:0:4::5efe:198.18.0.4{{me}}/64 dev isatap1
            ip link add vti1 type vti local 198.18.0.5{{me}} remote 198.18.0.5{{peer}} key 5
            ip addr add 198.18.105.{{me}}/24 dev vti1
            ip xfrm state add src 198.18.0.5{{me}} dst 198.18.0.5{{peer}} proto esp spi 0x100{{me}} mode tunnel auth 'hmac(sha256)' 0x{{Key(32, me)}} enc 'cbc(aes)' 0x{{Key(16, me)}}
            ip xfrm state add src 198.18.0.5{{peer}} dst 198.18.0.5{{me}} proto esp spi 0x100{{peer}} mode tunnel auth 'hmac(sha256)' 0x{{Key(32, peer)}} enc 'cbc(aes)' 0x{{Key(16, peer)}}
            ip xfrm policy add dir out mark 5 tmpl src 198.18.0.5{{me}} dst 198.18.0.5{{peer}} proto esp mode tunnel
            ip xfrm policy add dir in mark 5 tmpl src 198.18.0.5{{peer}} dst 198.18.0.5{{me}} proto esp mode tunnel
            ip link add gtap1 type gretap local 198.18.0.6{{me}} remote 198.18.0.6{{peer}}
            ip addr add 198.18.106.{{me}}/24 dev gtap1
            for dev in ipip1 gre1 sit1 isatap1 vti1 gtap1; do ip link set $dev up; done
            set +e
            reach() {
                tries=0
                until $1 -c 1 -W 1 $2 >/dev/null 2>&1; do
                    tries=$((tries + 1))
                    [ "$tries" -lt 40 ] || { echo "TUNNEL-$3 failed"; return; }
                done
                echo "TUNNEL-$3 ok"
            }
            reach ping 198.18.0.{{peer}} underlay
            reach ping 198.18.101.{{peer}} ipip
            reach ping 198.18.102.{{peer}} gre
            reach ping6 2001:2:0:3::{{peer}} sit
            reach ping6 2001:2:0:4::5efe:198.18.0.4{{peer}} isatap
            reach ping 198.18.105.{{peer}} vti
            reach ping 198.18.106.{{peer}} gretap
            sleep 5
            """;
    }

    /// <summary>A fixed test key per direction (hex): the SA is static, its secrecy is not the point.</summary>
    private static string Key(int bytes, int direction) => string.Concat(Enumerable.Repeat($"{direction:x2}", bytes));

    private QemuGuest Guest(int side) =>
        _lab.Guest($"t{side}", _lab.StreamClient($"vm{side}.sock"), $"52:54:00:18:04:0{side}", $"198.18.0.{side}/24", Script(side));
}
