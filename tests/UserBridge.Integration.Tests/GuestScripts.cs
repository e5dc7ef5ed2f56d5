using System.Globalization;

namespace UserBridge.Integration.Tests;

/// <summary>
/// The guest-side halves of the tests: busybox sh scripts that print KEY value lines the tests read with
/// <see cref="GuestResult.ValueOf"/>. Every wait inside a guest is bounded.
/// </summary>
internal static class GuestScripts
{
    public const int TransferBytes = 1048576;

    /// <summary>Receives one TCP stream on port 5001 and prints its length and SHA-256.</summary>
    public const string Receiver = """
        set -e
        timeout 150 nc -l -p 5001 >/tmp/received
        echo "RX-BYTES $(wc -c </tmp/received)"
        echo "RX-SHA256 $(sha256sum /tmp/received | cut -d' ' -f1)"
        """;

    /// <summary>Pings <paramref name="address"/> until it answers (60 tries at most), printing PING-OK.</summary>
    public static string PingUntilAnswered(string address, string key = "PING-OK") => $$"""
        tries=0
        until ping -c 1 -W 1 {{address}} >/dev/null; do
            tries=$((tries + 1))
            [ "$tries" -lt 60 ] || { echo "PING-FAILED {{address}} after $tries tries"; exit 2; }
        done
        echo "{{key}} after $tries failed tries"
        """;

    /// <summary>
    /// Pings the receiver, then sends it <paramref name="bytes"/> (a multiple of 64 KiB; 1 MiB by default) of random
    /// data and prints the data's SHA-256, then how long the successful send took (TX-SECONDS, from the guest's uptime).
    /// </summary>
    public static string Sender(string receiverAddress, int bytes = TransferBytes) => $$"""
        set -e
        {{PingUntilAnswered(receiverAddress)}}
        dd if=/dev/urandom of=/tmp/sent bs=65536 count={{bytes / 65536}} 2>/dev/null
        echo "TX-BYTES $(wc -c </tmp/sent)"
        echo "TX-SHA256 $(sha256sum /tmp/sent | cut -d' ' -f1)"
        tries=0
        until start=$(cut -d' ' -f1 /proc/uptime) && nc {{receiverAddress}} 5001 </tmp/sent; do
            tries=$((tries + 1))
            [ "$tries" -lt 30 ] || { echo "SEND-FAILED after $tries tries"; exit 3; }
            sleep 1
        done
        end=$(cut -d' ' -f1 /proc/uptime)
        echo "SENT"
        echo "TX-SECONDS $(echo "$start $end" | awk '{ printf "%.2f", $2 - $1 }')"
        """;

    /// <summary>Asserts that the sender pinged the receiver and that <paramref name="bytes"/> arrived with the same SHA-256.</summary>
    public static void AssertTransfer(GuestResult sent, GuestResult received, int bytes = TransferBytes)
    {
        Assert.True(sent.ExitCode == 0, $"the sender failed: {sent}\n\nreceiver: {received}");
        Assert.True(received.ExitCode == 0, $"the receiver failed: {received}\n\nsender: {sent}");
        Assert.NotNull(sent.ValueOf("PING-OK"));
        Assert.Equal($"{bytes}", sent.ValueOf("TX-BYTES"));
        Assert.Equal($"{bytes}", received.ValueOf("RX-BYTES"));
        var hash = sent.ValueOf("TX-SHA256");
        Assert.Matches("^[0-9a-f]{64}$", hash);
        Assert.Equal(hash, received.ValueOf("RX-SHA256"));
    }

    /// <summary>Pings <paramref name="address"/> once every 0.3 s (400 times at most), printing <c>PING N OK</c> or <c>PING N FAIL</c>.</summary>
    public static string PingForever(string address) => $$"""
        i=0
        while [ "$i" -lt 400 ]; do
            i=$((i + 1))
            if ping -c 1 -W 1 {{address}} >/dev/null; then echo "PING $i OK"; else echo "PING $i FAIL"; fi
            sleep 0.3
        done
        """;

    /// <summary>A <see cref="PingForever"/> line of a successful ping numbered above <paramref name="after"/>.</summary>
    public static Func<string, bool> PingOkAfter(int after) => line =>
    {
        var words = line.Split(' ');
        return words.Length == 3 && words[0] == "PING" && words[2] == "OK" && int.Parse(words[1], CultureInfo.InvariantCulture) > after;
    };

    /// <summary>The number of the last <see cref="PingForever"/> ping <paramref name="guest"/> printed (0: none yet).</summary>
    public static int LastPing(QemuGuest guest) =>
        guest.Console.Where(l => l.StartsWith("PING ", StringComparison.Ordinal)).Select(l => int.Parse(l.Split(' ')[1], CultureInfo.InvariantCulture)).DefaultIfEmpty(0).Max();

    /// <summary>
    /// Pings each target: those that must answer until they do (bounded, printing <c>REACH-ADDR</c>), the others twice
    /// (<c>ISOLATED ADDR</c>, or <c>LEAK ADDR</c> and a failing exit); then lingers <paramref name="lingerSeconds"/> for the other guests.
    /// </summary>
    public static string Reachability(int lingerSeconds, params (string Address, bool Reachable)[] targets)
    {
        var script = "fail=0\n";
        foreach (var (address, reachable) in targets.OrderByDescending(t => t.Reachable))
        {
            script += reachable
                ? PingUntilAnswered(address, $"REACH-{address}") + "\n"
                : $"if ping -c 2 -W 1 {address} >/dev/null; then echo \"LEAK {address}\"; fail=1; else echo \"ISOLATED {address}\"; fi\n";
        }

        return script + $"sleep {lingerSeconds}\nexit $fail\n";
    }
}
