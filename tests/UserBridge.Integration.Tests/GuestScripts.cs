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

    /// <summary>Pings the receiver, then sends it 1 MiB of random data and prints the data's SHA-256.</summary>
    public static string Sender(string receiverAddress) => $$"""
        set -e
        {{PingUntilAnswered(receiverAddress)}}
        dd if=/dev/urandom of=/tmp/sent bs=65536 count=16 2>/dev/null
        echo "TX-BYTES $(wc -c </tmp/sent)"
        echo "TX-SHA256 $(sha256sum /tmp/sent | cut -d' ' -f1)"
        tries=0
        until nc {{receiverAddress}} 5001 </tmp/sent; do
            tries=$((tries + 1))
            [ "$tries" -lt 30 ] || { echo "SEND-FAILED after $tries tries"; exit 3; }
            sleep 1
        done
        echo "SENT"
        """;

    /// <summary>Asserts that the sender pinged the receiver and that 1 MiB arrived with the same SHA-256.</summary>
    public static void AssertTransfer(GuestResult sent, GuestResult received)
    {
        Assert.True(sent.ExitCode == 0, $"the sender failed: {sent}\n\nreceiver: {received}");
        Assert.True(received.ExitCode == 0, $"the receiver failed: {received}\n\nsender: {sent}");
        Assert.NotNull(sent.ValueOf("PING-OK"));
        Assert.Equal($"{TransferBytes}", sent.ValueOf("TX-BYTES"));
        Assert.Equal($"{TransferBytes}", received.ValueOf("RX-BYTES"));
        var hash = sent.ValueOf("TX-SHA256");
        Assert.Matches("^[0-9a-f]{64}$", hash);
        Assert.Equal(hash, received.ValueOf("RX-SHA256"));
    }
}
