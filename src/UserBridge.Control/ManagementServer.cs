using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using UserBridge.Capture;
using UserBridge.Linux;
using Microsoft.Extensions.Logging;

namespace UserBridge.Control;

/// <summary>
/// Serves the management protocol on a unix socket (mode 0600; 0660 with a group, see <see cref="Restrict"/>). A stale
/// socket file left by a crashed switch is replaced; a live one (another switch answers) is an error. Every client's
/// credentials (SO_PEERCRED) are checked: root, the switch's own user, or a member of its group.
/// </summary>
public sealed partial class ManagementServer : IDisposable
{
    private static readonly TimeSpan StreamStopTimeout = TimeSpan.FromSeconds(5);

    private readonly Socket _listener;
    private readonly PortManager _ports;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _acceptLoop;
    private Account? _account;

    private ManagementServer(CreatedFile file, Socket listener, PortManager ports, ILogger logger)
    {
        File = file;
        Path = file.Path;
        _listener = listener;
        _ports = ports;
        _logger = logger;
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    public string Path { get; }

    /// <summary>The control socket's file, removed at the end if it is still this one.</summary>
    public CreatedFile File { get; }

    public static ManagementServer Start(string path, PortManager ports, ILogger logger)
    {
        var directory = System.IO.Path.GetDirectoryName(path);
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        try
        {
            SocketFile.RemoveStale(path);
        }
        catch (SocketFileInUseException ex)
        {
            throw new ManagementException($"{path}: another switch is already serving this control socket; choose another --name or --control", ex);
        }

        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            listener.Bind(new UnixDomainSocketEndPoint(path));
            System.IO.File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            listener.Listen(16);
            return new ManagementServer(SocketFile.Identify(path), listener, ports, logger);
        }
        catch (SocketException ex)
        {
            listener.Dispose();
            throw new ManagementException($"bind {path}: {ex.Message}", ex);
        }
    }

    /// <summary>
    /// Hands the socket to <paramref name="account"/> before the switch becomes that user: owned by it, mode 0600, or
    /// 0660 and owned by its group when one is configured; from now on members of that group may manage the switch too.
    /// </summary>
    public void Restrict(Account account)
    {
        ArgumentNullException.ThrowIfNull(account);
        Privileges.Chown(Path, account);

        var groupAccess = account.Group is null ? 0 : UnixFileMode.GroupRead | UnixFileMode.GroupWrite;
        System.IO.File.SetUnixFileMode(Path, UnixFileMode.UserRead | UnixFileMode.UserWrite | groupAccess);
        Volatile.Write(ref _account, account);
    }

    /// <summary>The client's uid and gid from the kernel (SO_PEERCRED); null when they cannot be read.</summary>
    private static (int Uid, int Gid)? PeerOf(Socket client)
    {
        const int SolSocket = 1;
        const int SoPeerCred = 17;
        Span<byte> credentials = stackalloc byte[12];
        try
        {
            return client.GetRawSocketOption(SolSocket, SoPeerCred, credentials) == 12
                ? (System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(credentials[4..]), System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(credentials[8..]))
                : null;
        }
        catch (SocketException)
        {
            return null;
        }
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            var peer = PeerOf(client);
            if (peer is not { } credentials || !Privileges.MayManage(credentials.Uid, credentials.Gid, Volatile.Read(ref _account)))
            {
                _ = Task.Run(() => RefuseAsync(client, peer));
                continue;
            }

            _ = Task.Run(() => ServeAsync(client));
        }
    }

    /// <summary>Tells a client it may not manage this switch, and closes its connection.</summary>
    private async Task RefuseAsync(Socket client, (int Uid, int Gid)? peer)
    {
        using (client)
        {
            var who = peer is { } known ? $"uid {known.Uid}" : "a client whose credentials could not be read";
            LogClientError(_logger, Path, $"refused {who}: not root, the switch user or a member of its group");
            try
            {
                await using var stream = new NetworkStream(client, ownsSocket: false);
                var reply = Encoding.UTF8.GetBytes(ManagementProtocol.Error($"permission denied: {who} is not root, the switch user or a member of its group") + "\n");
                await stream.WriteAsync(reply).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or SocketException)
            {
                // The client went away first.
            }
        }
    }

    private async Task ServeAsync(Socket client)
    {
        using (client)
        {
            try
            {
                await using var stream = new NetworkStream(client, ownsSocket: false);
                using var reader = new StreamReader(stream, Encoding.UTF8);
                await using var writer = new StreamWriter(stream, new UTF8Encoding(false)) { AutoFlush = true, NewLine = "\n" };
                while (!_stop.IsCancellationRequested)
                {
                    string? line;
                    try
                    {
                        line = await ReadLineAsync(reader).ConfigureAwait(false);
                    }
                    catch (ManagementException ex)
                    {
                        // The rest of an oversized line cannot be told from the next request: answer, then close.
                        await writer.WriteLineAsync(ManagementProtocol.Error($"{ex.Message}; closing this connection")).ConfigureAwait(false);
                        throw;
                    }

                    if (line is null)
                    {
                        return;
                    }

                    if (ManagementProtocol.IsStreamRequest(line, out var verb, out var args))
                    {
                        await (verb == ManagementVerbs.MonitorVerb
                            ? StreamEventsAsync(reader, writer)
                            : StreamCaptureAsync(stream, reader, writer, args)).ConfigureAwait(false);
                        return;
                    }

                    await writer.WriteLineAsync(ManagementProtocol.Handle(_ports, line)).ConfigureAwait(false);
                }
            }
            catch (Exception ex) when (ex is IOException or SocketException or ManagementException)
            {
                LogClientError(_logger, Path, ex.Message);
            }
        }
    }

    /// <summary>
    /// Serves <c>capture stream</c>: the reply line, then pcapng until the capture ends by itself (count, duration)
    /// or the client half-closes the connection; either way the capture's statistics end the stream.
    /// </summary>
    private async Task StreamCaptureAsync(NetworkStream stream, StreamReader reader, StreamWriter writer, JsonObject args)
    {
        CaptureSession session;
        try
        {
            var options = CaptureRequest.Options(args);
            var reply = Encoding.UTF8.GetBytes(ManagementProtocol.Ok(new JsonObject { ["stream"] = "pcapng" }) + "\n");
            session = _ports.Captures.Start(options, new StreamCaptureOutput(stream, "stream to a management client", reply));
        }
        catch (Exception ex) when (ex is ManagementException or CaptureException or ArgumentException)
        {
            await writer.WriteLineAsync(ManagementProtocol.Error(ex.Message)).ConfigureAwait(false);
            return;
        }

        // The client sends nothing more: end of input is its request to stop.
        var clientDone = reader.ReadToEndAsync(_stop.Token);
        await Task.WhenAny(clientDone, session.Completion).ConfigureAwait(false);
        session.Stop(clientDone.IsCompleted ? "client ended it" : session.EndReason);
        if (!session.Completion.Wait(StreamStopTimeout))
        {
            // The client stopped reading: closing the connection frees the writer.
            stream.Socket.Dispose();
            await session.Completion.ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Serves <c>monitor</c>: the reply line, then one JSON object per event until the client closes the connection
    /// or the switch stops.
    /// </summary>
    private async Task StreamEventsAsync(StreamReader reader, StreamWriter writer)
    {
        using var subscription = _ports.Events.Subscribe();
        using var clientGone = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        await writer.WriteLineAsync(ManagementProtocol.Ok(new JsonObject { ["stream"] = "events" })).ConfigureAwait(false);

        // The client sends nothing more: end of input means it is gone.
        var watch = reader.ReadToEndAsync(clientGone.Token).ContinueWith(_ => clientGone.Cancel(), TaskScheduler.Default);
        try
        {
            await foreach (var line in subscription.Lines.ReadAllAsync(clientGone.Token).ConfigureAwait(false))
            {
                await writer.WriteLineAsync(line).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            // The client left or the switch is stopping.
        }

        await clientGone.CancelAsync().ConfigureAwait(false);
        await watch.ConfigureAwait(false);
    }

    /// <summary>Reads one line, refusing lines over <see cref="ManagementProtocol.MaxRequestBytes"/>.</summary>
    private async Task<string?> ReadLineAsync(StreamReader reader)
    {
        var line = new StringBuilder();
        var buffer = new char[1];
        while (await reader.ReadAsync(buffer.AsMemory(), _stop.Token).ConfigureAwait(false) == 1)
        {
            if (buffer[0] == '\n')
            {
                return line.ToString();
            }

            if (line.Length >= ManagementProtocol.MaxRequestBytes)
            {
                throw new ManagementException($"request longer than {ManagementProtocol.MaxRequestBytes} bytes");
            }

            line.Append(buffer[0]);
        }

        return line.Length > 0 ? line.ToString() : null;
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Dispose();
        _acceptLoop.Wait(TimeSpan.FromSeconds(1));
        _stop.Dispose();
        SocketFile.RemoveIfSame(File);
    }

    [LoggerMessage(EventId = 100, Level = LogLevel.Warning, Message = "management client on {Path}: {Reason}")]
    private static partial void LogClientError(ILogger logger, string path, string reason);
}
