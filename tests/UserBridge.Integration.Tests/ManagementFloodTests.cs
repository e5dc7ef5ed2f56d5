using System.Globalization;
using System.Net.Sockets;
using System.Text.Json;
using System.Text;
using UserBridge.Control.Management;
using UserBridge.Core.Frames;

namespace UserBridge.Integration.Tests;

/// <summary>
/// The management socket against greedy and broken clients, on the real process: a connection flood under a low fd
/// limit, clients that send after a streaming request, clients that ask for a big MAC table and never read, and a flood
/// of listings. The switch keeps forwarding, its memory stays bounded, and it answers again once the clients leave.
/// </summary>
public sealed class ManagementFloodTests : IDisposable
{
    private const int FdLimit = 400;
    private const int MaxConnections = 2_000;
    private const long OverSendBytes = 256L << 20;
    private const int FilledEntries = 65_536;
    private const int SilentClients = 200;
    private const int LoopingClients = 8;
    private const double LoadedRttLimitMs = 5;

    // The table has room for the entries without full buckets.
    private const string BigTable = "mac_table_size = 262144";

    // A streaming client's input is thrown away as it comes: nothing of it stays. The allowance is the collector's.
    private const long RssGrowthLimitKib = 32 * 1024;

    // Each silent client holds a piece of its reply and a few entries: some tens of KiB, 200 of them a few MiB, and the
    // collector's allowance on top.
    private const long ListingRssGrowthLimitKib = 96 * 1024;
    private static readonly TimeSpan IdleWindow = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan LoopWindow = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan ReplyWait = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    private readonly SwitchLab _lab = new();
    private readonly List<Socket> _clients = [];

    public void Dispose()
    {
        _clients.ForEach(client => client.Dispose());
        _lab.Dispose();
    }

    [Fact]
    public async Task AConnectionFloodUnderALowFdLimitIsRefusedWhileTheSwitchForwardsAndAnswersOnceTheClientsLeave()
    {
        Privileged.Require(["ping", "prlimit"]);
        // Caps far above the fd limit, so that the descriptors are what runs out.
        var config = _lab.TapPorts(2, "max_clients = 65536\nmax_clients_per_user = 65536");
        var process = _lab.StartUnder(["prlimit", $"--nofile={FdLimit}:{FdLimit}", "--"], "--config", _lab.WriteConfig(config));
        _lab.Network.AddHost(1);
        _lab.Network.AddHost(2);
        Assert.Equal(0, _lab.Network.Ping(1, 2).ExitCode);

        using var ping = BackgroundPing.Start(_lab.Network.Namespace(1), TestNetwork.Address(2), intervalSeconds: 0.05);
        string? refusal = null;
        while (refusal is null && _clients.Count < MaxConnections)
        {
            var client = Connect(process);
            var reply = Exchange(client, ManagementProtocol.Request("version"));
            Assert.True(reply is not null, $"connection {_clients.Count + 1} got no reply within {ReplyWait}; the switch {Alive(process)}");
            if (reply.StartsWith("{\"ok\":true", StringComparison.Ordinal))
            {
                _clients.Add(client);
                continue;
            }

            refusal = reply;
            client.Dispose();
        }

        var held = _clients.Count;
        var fdsFlooded = ProcessStatus.OpenFds(process.Pid);
        TestContext.Current.TestOutputHelper?.WriteLine($"flood: {held} clients served, then: {refusal}; {fdsFlooded} fds open of {FdLimit}");
        Assert.NotNull(refusal);
        var reserved = ManagementOptions.ReservedFds(FdLimit);
        Assert.Contains($"of its {FdLimit} file descriptors open and keeps the last {reserved} for its ports and captures", refusal, StringComparison.Ordinal);
        // A few over the line: the switch counts before it closes a refused client, and reading /proc holds one too.
        Assert.True(fdsFlooded <= FdLimit - reserved + 4, $"{fdsFlooded} fds open with {held} clients: the reserve of {reserved} was not kept");

        // The refusals go on as long as the flood does, without a crash.
        for (var i = 0; i < 100; i++)
        {
            using var extra = Connect(process);
            Assert.StartsWith("{\"ok\":false,\"error\":\"the switch has", Exchange(extra, ManagementProtocol.Request("version")) ?? $"no reply; the switch {Alive(process)}", StringComparison.Ordinal);
        }

        Assert.Contains(" 0% packet loss", await ping.StopAsync(), StringComparison.Ordinal);

        _clients.ForEach(client => client.Dispose());
        _clients.Clear();
        JsonElement stats = default;
        Waiting.Until(() => TryStats(out stats) && stats.GetProperty("management").GetProperty("clients").GetInt32() <= 1, "the switch to answer again with the clients gone", Deadline);
        var management = stats.GetProperty("management");
        // The first and the hundred after it; a stats request made before the switch saw every client leave counts too.
        Assert.True(management.GetProperty("refused_file_descriptors").GetInt64() >= 101, management.ToString());
        Assert.Equal(FdLimit, management.GetProperty("fd_limit").GetInt64());
        Assert.Equal(0, _lab.Network.Ping(1, 2).ExitCode);
    }

    [Fact]
    public void TheSoftFdLimitIsRaisedToTheHardOneAtStart()
    {
        Privileged.Require(["prlimit"]);
        var process = _lab.StartUnder(["prlimit", $"--nofile={FdLimit}:{4 * FdLimit}", "--"], "--config", _lab.WriteConfig(string.Empty));

        var limits = File.ReadLines($"/proc/{process.Pid}/limits").Single(line => line.StartsWith("Max open files", StringComparison.Ordinal));

        Assert.Equal([$"{4 * FdLimit}", $"{4 * FdLimit}"], limits["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries).Take(2));
    }

    [Theory]
    [InlineData(ManagementVerbs.MonitorVerb)]
    [InlineData(ManagementVerbs.CaptureStreamVerb)]
    public void AStreamingClientThatSendsHundredsOfMebibytesIsCutOffAndTheSwitchMemoryStaysFlat(string verb)
    {
        var process = _lab.Start("--config", _lab.WriteConfig(string.Empty));
        var rssBefore = ProcessStatus.RssKib(process.Pid);
        using var rss = RssWatch.Start(process.Pid, rssBefore + RssGrowthLimitKib);
        long sent = 0;
        var closed = false;
        using (var stream = StreamConnection.Open(_lab.Control, verb))
        {
            stream.Stream.WriteTimeout = (int)ReplyWait.TotalMilliseconds;
            var chunk = new byte[64 * 1024];
            while (!closed && sent < OverSendBytes && !rss.Exceeded)
            {
                try
                {
                    stream.Stream.Write(chunk);
                    sent += chunk.Length;
                }
                catch (IOException)
                {
                    closed = true;
                }
            }
        }

        TestContext.Current.TestOutputHelper?.WriteLine($"{verb}: sent {sent >> 10} KiB, connection closed by the switch: {closed}, RSS {rssBefore} KiB -> peak {rss.PeakKib} KiB");
        Assert.True(closed, $"the switch took {sent >> 10} KiB after a {verb} request without closing the connection (RSS {rssBefore} -> {rss.PeakKib} KiB)");
        Assert.True(rss.PeakKib - rssBefore <= RssGrowthLimitKib, $"RSS grew from {rssBefore} KiB to {rss.PeakKib} KiB");
        Waiting.Until(() => TryStats(out var stats) && stats.GetProperty("management").GetProperty("cut_off_stream_input").GetInt64() == 1, "the cut-off to be counted", Deadline);
    }

    [Fact]
    public void ClientsThatAskForABigMacTableAndNeverReadAreCutOffAndLeaveMemoryAndCpuAlone()
    {
        Privileged.Require();
        var process = _lab.Start("--config", _lab.WriteConfig(_lab.TapPorts(1, BigTable + "\nmax_clients = 1024\nmax_clients_per_user = 1024")));
        FillMacTable();
        var rssBefore = ProcessStatus.RssKib(process.Pid);
        using var rss = RssWatch.Start(process.Pid, rssBefore + ListingRssGrowthLimitKib);
        for (var i = 0; i < SilentClients; i++)
        {
            var client = Connect(process);
            _clients.Add(client);
            client.Send(Encoding.UTF8.GetBytes(ManagementProtocol.Request("fdb show") + "\n"));
        }

        JsonElement stats = default;
        Waiting.Until(
            () => rss.Exceeded || (TryStats(out stats) && stats.GetProperty("management").GetProperty("cut_off_slow_reader").GetInt64() >= SilentClients),
            $"the {SilentClients} silent clients to be cut off",
            Deadline);
        _clients.ForEach(client => client.Dispose());
        _clients.Clear();

        // Once they are gone, nothing is left to do for them.
        var ticksBefore = CpuTicks(process.Pid);
        Thread.Sleep(IdleWindow);
        var busySeconds = (CpuTicks(process.Pid) - ticksBefore) / 100.0;

        TestContext.Current.TestOutputHelper?.WriteLine($"{SilentClients} silent fdb show clients: RSS {rssBefore} KiB -> peak {rss.PeakKib} KiB; {busySeconds:0.00} s of CPU in the {IdleWindow.TotalSeconds} s after they left");
        Assert.True(rss.PeakKib - rssBefore <= ListingRssGrowthLimitKib, $"RSS grew from {rssBefore} KiB to {rss.PeakKib} KiB with {SilentClients} silent fdb show clients");
        Assert.True(busySeconds < 0.5, $"the switch used {busySeconds:0.00} s of CPU in the {IdleWindow.TotalSeconds} s after the silent clients left");
    }

    [Fact]
    public async Task ClientsLoopingOverABigMacTableLeaveForwardingLatencyAlone()
    {
        Privileged.Require(["ping"]);
        var process = _lab.Start("--config", _lab.WriteConfig(_lab.TapPorts(2, BigTable)));
        _lab.Network.AddHost(1);
        _lab.Network.AddHost(2);
        Assert.Equal(0, _lab.Network.Ping(1, 2).ExitCode);
        FillMacTable();
        var quiet = AverageRttMs(await PingWhile(() => Thread.Sleep(LoopWindow)));

        var summary = await PingWhile(() =>
        {
            using var stop = new CancellationTokenSource(LoopWindow);
            Task.WaitAll([.. Enumerable.Range(0, LoopingClients).Select(_ => Task.Run(() => LoopFdbShow(stop.Token), TestContext.Current.CancellationToken))], TestContext.Current.CancellationToken);
        });

        // The management work ran on its own two threads, below the port workers.
        Assert.All(["ub-management", "ub-mgmt-accept"], name => Assert.Equal(10, Nice(process.Pid, name)));
        var loaded = AverageRttMs(summary);
        TestContext.Current.TestOutputHelper?.WriteLine($"ping through the switch: {quiet:0.000} ms average alone, {loaded:0.000} ms with {LoopingClients} clients looping fdb show over {FilledEntries} entries\n{summary}");
        Assert.Contains(" 0% packet loss", summary, StringComparison.Ordinal);
        Assert.True(loaded < LoadedRttLimitMs, $"ping averaged {loaded:0.000} ms with {LoopingClients} clients looping fdb show (alone: {quiet:0.000} ms)");
    }

    private Socket Connect(SwitchProcess process)
    {
        var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified) { ReceiveTimeout = (int)ReplyWait.TotalMilliseconds };
        try
        {
            client.Connect(new UnixDomainSocketEndPoint(_lab.Control));
            return client;
        }
        catch (SocketException ex)
        {
            client.Dispose();
            Assert.Fail($"connection {_clients.Count + 1} failed ({ex.Message}); the switch {Alive(process)}");
            throw;
        }
    }

    /// <summary>Sends a request line and reads a reply line; null when none comes in time (a refused client's line comes anyway).</summary>
    private static string? Exchange(Socket client, string request)
    {
        try
        {
            client.Send(Encoding.UTF8.GetBytes(request + "\n"));
        }
        catch (SocketException)
        {
            // Refused and closed before the request went: the refusal is still there to read.
        }

        var line = new List<byte>();
        var one = new byte[1];
        try
        {
            while (client.Receive(one) == 1 && one[0] != '\n')
            {
                line.Add(one[0]);
            }
        }
        catch (SocketException)
        {
            return null;
        }

        return line.Count == 0 ? null : Encoding.UTF8.GetString([.. line]);
    }

    private bool TryStats(out JsonElement stats)
    {
        try
        {
            stats = JsonSerializer.SerializeToElement(ManagementClient.Call(_lab.Control, "stats"));
            return true;
        }
        catch (ManagementException)
        {
            stats = default;
            return false;
        }
    }

    /// <summary>Adds <see cref="FilledEntries"/> static entries on port p1, pipelined on one connection.</summary>
    private void FillMacTable()
    {
        using var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        client.Connect(new UnixDomainSocketEndPoint(_lab.Control));
        using var stream = new NetworkStream(client);
        var writer = Task.Run(
            () =>
            {
                var requests = new StringBuilder();
                for (var i = 0; i < FilledEntries; i++)
                {
                    var mac = new MacAddress(0x0eff_0000_0000UL + (ulong)i);
                    requests.Append(CultureInfo.InvariantCulture, $"{{\"verb\":\"fdb add\",\"args\":{{\"mac\":\"{mac}\",\"port\":\"p1\"}}}}\n");
                }

                stream.Write(Encoding.UTF8.GetBytes(requests.ToString()));
            },
            TestContext.Current.CancellationToken);
        using var reader = new StreamReader(stream);
        var added = 0;
        for (var i = 0; i < FilledEntries; i++)
        {
            var reply = reader.ReadLine() ?? throw new InvalidOperationException($"the switch closed the connection after {i} fdb add replies");
            added += reply.StartsWith("{\"ok\":true", StringComparison.Ordinal) ? 1 : 0;
        }

        writer.Wait(TestContext.Current.CancellationToken);
        Assert.True(added > FilledEntries * 99 / 100, $"only {added} of {FilledEntries} static entries went in");
    }

    /// <summary>Asks for fdb show and reads each whole reply (throwing it away) until <paramref name="stop"/>.</summary>
    private void LoopFdbShow(CancellationToken stop)
    {
        using var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        client.Connect(new UnixDomainSocketEndPoint(_lab.Control));
        var request = Encoding.UTF8.GetBytes(ManagementProtocol.Request("fdb show") + "\n");
        var buffer = new byte[64 * 1024];
        while (!stop.IsCancellationRequested)
        {
            client.Send(request);
            int read;
            do
            {
                read = client.Receive(buffer);
            }
            while (read > 0 && buffer[read - 1] != '\n');
        }
    }

    /// <summary>Pings host 2 from host 1 every 20 ms while <paramref name="load"/> runs; returns ping's summary.</summary>
    private async Task<string> PingWhile(Action load)
    {
        using var ping = BackgroundPing.Start(_lab.Network.Namespace(1), TestNetwork.Address(2), intervalSeconds: 0.02);
        await Task.Run(load, TestContext.Current.CancellationToken);
        return await ping.StopAsync();
    }

    private static double AverageRttMs(string summary)
    {
        var rtt = summary.Split('\n').Single(line => line.StartsWith("rtt ", StringComparison.Ordinal));
        return double.Parse(rtt.Split('=')[1].Trim().Split('/')[1], CultureInfo.InvariantCulture);
    }

    /// <summary>The nice value of <paramref name="pid"/>'s thread named <paramref name="name"/>.</summary>
    private static int Nice(int pid, string name)
    {
        var task = Directory.GetDirectories($"/proc/{pid}/task").Single(task => File.ReadAllText(Path.Combine(task, "comm")).Trim() == name);

        // Fields after the command name: state is the first, nice the 17th.
        return int.Parse(File.ReadAllText(Path.Combine(task, "stat")).Split(") ")[1].Split(' ')[16], CultureInfo.InvariantCulture);
    }

    private static long CpuTicks(int pid)
    {
        // Fields after the command name: state is the first, utime the 12th, stime the 13th.
        var fields = File.ReadAllText($"/proc/{pid}/stat").Split(") ")[1].Split(' ');
        return long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
    }

    private static string Alive(SwitchProcess process) =>
        Directory.Exists($"/proc/{process.Pid}") ? "is still running" : $"exited ({process.Errors.Split('\n').LastOrDefault()})";
}
