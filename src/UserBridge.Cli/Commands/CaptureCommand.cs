using System.CommandLine;
using System.Net.Sockets;
using System.Net;
using System.Text.Json.Nodes;
using UserBridge.Capture;
using UserBridge.Cli.Output;
using UserBridge.Control.Config;
using UserBridge.Control.Management;

namespace UserBridge.Cli.Commands;

/// <summary>
/// <c>userbridge capture</c>: a live pcapng stream of the running switch, to a file, stdout (<c>-w -</c>, for
/// <c>wireshark -k -i -</c>), a FIFO or TCP clients (<c>--listen</c>, for <c>wireshark -k -i TCP@HOST:PORT</c>); and
/// <c>capture start|stop|list</c> for captures the switch writes itself.
/// </summary>
internal static class CaptureCommand
{
    public static Command Create()
    {
        var common = new CommonOptions();
        var selection = new Selection();
        var write = new Option<string?>("-w", "--write") { Description = "write the pcapng here: a file, a FIFO, or - for stdout" };
        var listen = new Option<string?>("--listen") { Description = "serve the pcapng over TCP on HOST:PORT (e.g. 127.0.0.1:19000); each client gets its own capture" };
        var capture = new Command("capture", "capture the switch's traffic as pcapng, with the forwarding decision of every frame as its comment") { write, listen };
        common.AddTo(capture);
        selection.AddTo(capture);
        capture.SetAction(result =>
        {
            var target = result.GetValue(write);
            var endpoint = result.GetValue(listen);
            if ((target is null) == (endpoint is null))
            {
                Console.Error.WriteLine("userbridge capture: give one of -w FILE|- or --listen HOST:PORT");
                return ExitCodes.BadUsage;
            }

            var args = selection.ToJson(result);
            return target is not null
                ? WriteTo(common.SocketPath(result), args, target)
                : Listen(common.SocketPath(result), args, endpoint!);
        });
        capture.Subcommands.Add(CreateStart());
        capture.Subcommands.Add(CreateStop());
        capture.Subcommands.Add(CreateList());
        return capture;
    }

    /// <summary>Streams a capture into <paramref name="target"/> (a file, a FIFO, or - for stdout) until it ends.</summary>
    internal static int WriteTo(string socketPath, JsonObject args, string target)
    {
        using var signals = new ShutdownSignals();
        StreamConnection connection;
        try
        {
            connection = StreamConnection.Open(socketPath, ManagementVerbs.CaptureStreamVerb, args);
        }
        catch (ManagementException ex)
        {
            Console.Error.WriteLine($"userbridge capture: {ex.Message}");
            return ExitCodes.Failure;
        }

        using (connection)
        using (var output = OpenOutput(target))
        using (signals.Token.Register(connection.RequestStop))
        {
            var relay = new PcapngRelay();
            Console.Error.WriteLine($"capturing to {(target == "-" ? "stdout" : target)}; Ctrl-C ends the capture");
            string ending;
            using (Progress.Start(relay))
            {
                ending = Relay(relay, connection, output);
            }

            Console.Error.WriteLine($"{relay.Packets} packets captured, {relay.Dropped} dropped by the capture{ending}");
        }

        return ExitCodes.Success;
    }

    /// <summary>Relays until the switch ends the stream; a reader that goes away ends the capture too.</summary>
    private static string Relay(PcapngRelay relay, StreamConnection connection, Stream output)
    {
        try
        {
            relay.Run(connection.Stream, output, () => !connection.Stream.DataAvailable);
            return string.Empty;
        }
        catch (IOException ex)
        {
            connection.RequestStop();
            return $" (ended: {ex.Message})";
        }
    }

    private static Stream OpenOutput(string target)
    {
        if (target == "-")
        {
            return Console.OpenStandardOutput();
        }

        // OpenOrCreate, not Create: a FIFO is opened as it is (the call waits for its reader); a file is emptied.
        var stream = new FileStream(target, FileMode.OpenOrCreate, FileAccess.Write, FileShare.Read, bufferSize: 0);
        if (stream.CanSeek)
        {
            stream.SetLength(0);
        }

        return stream;
    }

    private static int Listen(string socketPath, JsonObject args, string endpointText)
    {
        if (!IPEndPoint.TryParse(endpointText, out var endpoint) || endpoint.Port == 0)
        {
            Console.Error.WriteLine($"userbridge capture: --listen {endpointText} is not HOST:PORT, e.g. 127.0.0.1:19000");
            return ExitCodes.BadUsage;
        }

        using var signals = new ShutdownSignals();
        var listener = new TcpListener(endpoint);
        try
        {
            listener.Start();
        }
        catch (SocketException ex)
        {
            Console.Error.WriteLine($"userbridge capture: listen on {endpoint}: {ex.Message}");
            return ExitCodes.Failure;
        }

        if (!IPAddress.IsLoopback(endpoint.Address))
        {
            Console.Error.WriteLine($"warning: {endpoint} is not a loopback address: anyone who reaches it sees the switch's traffic");
        }

        Console.Error.WriteLine($"serving the capture on {endpoint}: wireshark -k -i TCP@{endpoint}; Ctrl-C stops");
        var clients = new List<Task>();
        while (true)
        {
            TcpClient client;
            try
            {
                client = listener.AcceptTcpClientAsync(signals.Token).AsTask().GetAwaiter().GetResult();
            }
            catch (OperationCanceledException)
            {
                break;
            }

            clients.Add(Task.Run(() => Serve(socketPath, args, client, signals.Token)));
        }

        listener.Stop();
        Task.WaitAll([.. clients]);
        return ExitCodes.Success;
    }

    private static void Serve(string socketPath, JsonObject args, TcpClient client, CancellationToken stop)
    {
        using (client)
        {
            var peer = client.Client.RemoteEndPoint;
            try
            {
                using var connection = StreamConnection.Open(socketPath, ManagementVerbs.CaptureStreamVerb, (JsonObject)args.DeepClone());
                using var registration = stop.Register(connection.RequestStop);
                var relay = new PcapngRelay();
                Console.Error.WriteLine($"{peer}: capture started");
                var ending = Relay(relay, connection, client.GetStream());
                Console.Error.WriteLine($"{peer}: {relay.Packets} packets sent, {relay.Dropped} dropped by the capture{ending}");
            }
            catch (ManagementException ex)
            {
                Console.Error.WriteLine($"{peer}: {ex.Message}");
            }
        }
    }

    private static Command CreateStart()
    {
        var common = new CommonOptions();
        var selection = new Selection();
        var file = new Option<string>("--file") { Description = "the pcapng file the switch writes (a path on the switch's host)", Required = true };
        var rotate = new Option<long?>("--rotate-bytes") { Description = $"start a new file when the current one reaches this size ({Limits.MinRotateBytes} to {Limits.MaxRotateBytes} bytes)" }
            .Within(Limits.MinRotateBytes, Limits.MaxRotateBytes, " bytes");
        var keep = new Option<int?>("--keep-files") { Description = $"with --rotate-bytes: keep at most this many files (1 to {Limits.MaxKeepFiles})" }
            .Within(1, Limits.MaxKeepFiles);
        var start = new Command("start", "start a capture that the switch itself writes to a file") { file, rotate, keep };
        common.AddTo(start);
        selection.AddTo(start);
        start.SetAction(result =>
        {
            var args = selection.ToJson(result);
            args["file"] = Path.GetFullPath(result.GetValue(file)!);
            if (result.GetValue(rotate) is { } bytes)
            {
                args["rotate_bytes"] = bytes;
            }

            if (result.GetValue(keep) is { } files)
            {
                args["keep_files"] = files;
            }

            return ShowCommands.Call(result, common, "capture start", args, reply => $"capture {(int?)reply["id"]} started: {(string?)reply["output"]}\n");
        });
        return start;
    }

    private static Command CreateStop()
    {
        var common = new CommonOptions();
        var id = new Argument<int>("ID") { Description = "the capture's id (see capture list)" }.Within(1, int.MaxValue);
        var stop = new Command("stop", "end a capture the switch is writing") { id };
        common.AddTo(stop);
        stop.SetAction(result => ShowCommands.Call(result, common, "capture stop", new JsonObject { ["id"] = result.GetValue(id) }, reply => $"{(string?)reply["summary"]}\n"));
        return stop;
    }

    private static Command CreateList()
    {
        var common = new CommonOptions();
        var list = new Command("list", "list the running captures");
        common.AddTo(list);
        list.SetAction(result => ShowCommands.Call(result, common, "capture list", null, rows => TextTables.Captures((JsonArray)rows)));
        return list;
    }

    /// <summary>The options that choose what a capture takes, shared by <c>capture</c> and <c>capture start</c>.</summary>
    private sealed class Selection
    {
        private readonly Option<string[]> _ports = new("--port", "-p") { Description = "capture this port (repeat for more; default: all ports)", AllowMultipleArgumentsPerToken = false };
        private readonly Option<string> _direction = new("--direction") { Description = "in, out or both", DefaultValueFactory = _ => "both" };
        private readonly Option<string?> _filter = new("--filter", "-f") { Description = "a BPF filter in tcpdump syntax, e.g. \"icmp or arp\"" };
        private readonly Option<int?> _snapLength = new Option<int?>("--snaplen", "-s") { Description = $"bytes kept of each frame ({Limits.MinSnapLength} to {Limits.MaxSnapLength}, the default)" }
            .Within(Limits.MinSnapLength, Limits.MaxSnapLength, " bytes");

        private readonly Option<bool> _includeDrops = new("--include-drops") { Description = "capture dropped frames too, with the drop reason" };
        private readonly Option<long?> _count = new Option<long?>("--count", "-c") { Description = "stop after this many packets" }.Within(1, long.MaxValue);
        private readonly Option<int?> _duration = new Option<int?>("--duration") { Description = $"stop after this many seconds (1 to {Limits.MaxDurationSeconds})" }
            .Within((int)Limits.MinDurationSeconds, (int)Limits.MaxDurationSeconds, " seconds");

        public void AddTo(Command command)
        {
            command.Options.Add(_ports);
            command.Options.Add(_direction);
            command.Options.Add(_filter);
            command.Options.Add(_snapLength);
            command.Options.Add(_includeDrops);
            command.Options.Add(_count);
            command.Options.Add(_duration);
        }

        public JsonObject ToJson(ParseResult result)
        {
            var args = new JsonObject { ["direction"] = result.GetValue(_direction) };
            if (result.GetValue(_ports) is { Length: > 0 } ports)
            {
                args["ports"] = new JsonArray([.. ports.Select(port => JsonValue.Create(port))]);
            }

            if (result.GetValue(_filter) is { } filter)
            {
                args["filter"] = filter;
            }

            if (result.GetValue(_snapLength) is { } snapLength)
            {
                args["snaplen"] = snapLength;
            }

            if (result.GetValue(_includeDrops))
            {
                args["include_drops"] = true;
            }

            if (result.GetValue(_count) is { } count)
            {
                args["count"] = count;
            }

            if (result.GetValue(_duration) is { } duration)
            {
                args["duration_s"] = duration;
            }

            return args;
        }
    }

    /// <summary>A live packet counter on stderr, once a second, when stderr is a terminal.</summary>
    private sealed class Progress : IDisposable
    {
        private readonly Timer? _timer;

        private Progress(PcapngRelay relay)
        {
            if (!Console.IsErrorRedirected)
            {
                _timer = new Timer(_ => Console.Error.Write($"\r{relay.Packets} packets, {relay.Bytes / 1024} KiB "), null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
            }
        }

        public static Progress Start(PcapngRelay relay) => new(relay);

        public void Dispose()
        {
            if (_timer is not null)
            {
                _timer.Dispose();
                Console.Error.WriteLine();
            }
        }
    }
}
