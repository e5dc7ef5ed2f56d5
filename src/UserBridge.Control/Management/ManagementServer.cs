using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using UserBridge.Control.Runtime;
using UserBridge.Core.Logging;
using UserBridge.Linux.Files;
using UserBridge.Linux.Host;

namespace UserBridge.Control.Management;

/// <summary>
/// Serves the management protocol on a unix socket (mode 0600; 0660 with a group, see <see cref="Restrict"/>). A stale
/// socket file left by a crashed switch is replaced; a live one (another switch answers) is an error. Every client's
/// credentials (SO_PEERCRED) are checked: root, the switch's own user, or a member of its group.
/// </summary>
/// <remarks>
/// Clients are served on one low-priority thread (<see cref="ManagementThread"/>), so they cost the data path no CPU it
/// wants. A thread of its own, also at low priority, accepts them with a plain blocking <c>accept</c> and admits or
/// refuses each at once, however busy the management thread is (<see cref="ManagementOptions"/>): in all, per uid, and
/// by the file descriptors left, a quarter of the limit staying with the ports, captures and the runtime. That reserve
/// is what keeps the process alive under a flood: every thread the .NET runtime starts takes a pipe, and with no
/// descriptor left it aborts the process instead ("Out of memory."). A refused client gets one error line and is
/// closed, and every refusal is counted. An accept that fails anyway (no descriptor, no kernel memory) is retried after
/// a short pause instead of ending the loop.
/// </remarks>
public sealed partial class ManagementServer : IDisposable
{
    private static readonly TimeSpan FirstAcceptBackoff = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan LastAcceptBackoff = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan LogInterval = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan AcceptLoopStopTimeout = TimeSpan.FromSeconds(1);

    private readonly Socket _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly ManagementThread _thread;
    private readonly Thread _acceptThread;

    // The accept thread's alone.
    private readonly LogRateLimit _refusalLog = new(burst: 1, LogInterval);
    private readonly LogRateLimit _acceptErrorLog = new(burst: 1, LogInterval);

    // The management thread's alone.
    private readonly LogRateLimit _clientLog = new(burst: 1, LogInterval);

    // The clients by uid (admitted on the accept thread, gone on the management thread), and their sockets, for Dispose to
    // close.
    private readonly Lock _lock = new();
    private readonly Dictionary<int, int> _clientsByUid = [];
    private readonly HashSet<Socket> _clients = [];
    private Account? _account;

    private ManagementServer(CreatedFile file, Socket listener, RunningSwitch ports, ILogger logger, ManagementOptions options)
    {
        File = file;
        Path = file.Path;
        _listener = listener;
        Ports = ports;
        Logger = logger;
        Options = options;
        Counters = new ManagementCounters(options);
        Stopping = _stop.Token;
        _thread = new ManagementThread(logger);
        _acceptThread = new Thread(AcceptLoop) { IsBackground = true, Name = "ub-mgmt-accept" };
        _acceptThread.Start();
    }

    public string Path { get; }

    /// <summary>The control socket's file, removed at the end if it is still this one.</summary>
    public CreatedFile File { get; }

    /// <summary>What the socket refused and cut off (the <c>management</c> object of <c>stats</c>).</summary>
    public ManagementCounters Counters { get; }

    internal RunningSwitch Ports { get; }

    internal ILogger Logger { get; }

    internal ManagementOptions Options { get; }

    /// <summary>Cancelled when the server closes.</summary>
    internal CancellationToken Stopping { get; }

    public static ManagementServer Start(string path, RunningSwitch ports, ILogger logger, ManagementOptions? options = null)
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
            return new ManagementServer(SocketFile.Identify(path), listener, ports, logger, options ?? new ManagementOptions());
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

    private void AcceptLoop()
    {
        ThreadNice.Lower(ManagementThread.Nice);
        var backoff = FirstAcceptBackoff;
        while (!Stopping.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = _listener.Accept();
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (SocketException) when (Stopping.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException ex)
            {
                // EMFILE, ENFILE, ENOBUFS, ENOMEM, ECONNABORTED: the moment is bad, not the socket. The connection waits
                // in the backlog; a pause lets clients leave and descriptors come back, and the next accept takes it.
                Counters.AcceptFailed();
                if (_acceptErrorLog.TryPass(out var notLogged))
                {
                    LogAcceptError(Logger, Path, ex.Message, (int)backoff.TotalMilliseconds, notLogged);
                }

                Stopping.WaitHandle.WaitOne(backoff);
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, LastAcceptBackoff.Ticks));
                continue;
            }

            backoff = FirstAcceptBackoff;
            try
            {
                Admit(client);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // Nothing a client does should get here; if something does, it costs that client its connection, not the
                // switch its management socket.
                client.Dispose();
                LogUnexpectedAdmitting(Logger, Path, ex);
            }
        }
    }

    /// <summary>Serves <paramref name="client"/>, or refuses it with one error line when it may not manage the switch or a limit is reached.</summary>
    private void Admit(Socket client)
    {
        var account = Volatile.Read(ref _account);
        var peer = PeerOf(client);
        if (peer is not { } credentials || !Privileges.MayManage(credentials.Uid, credentials.Gid, account))
        {
            var who = peer is { } known ? $"uid {known.Uid}" : "a client whose credentials could not be read";
            Counters.RefusedForPermission();
            Refuse(client, $"permission denied: {who} is not root, the switch user or a member of its group");
            return;
        }

        var uid = credentials.Uid;
        if (Refusal(uid) is { } refusal)
        {
            Refuse(client, refusal);
            return;
        }

        // Counted from here, so that clients admitted while the management thread is busy count against the limits too.
        lock (_lock)
        {
            _clientsByUid[uid] = _clientsByUid.GetValueOrDefault(uid) + 1;
            _clients.Add(client);
        }

        Counters.Connected();

        // After the switch became its user, only root may add any port; before (or never), every client it admits is root
        // or the user who started it, who can do nothing through the switch they could not do themselves.
        var caller = new ManagementCaller(uid, uid == 0 || account is null ? null : Options.RuntimePorts);
        _thread.Start(() => ServeAsync(client, caller));
    }

    /// <summary>Why a new client of <paramref name="uid"/> may not be served now (and counted as such); null when it may.</summary>
    private string? Refusal(int uid)
    {
        int clientsOfUser;
        lock (_lock)
        {
            clientsOfUser = _clientsByUid.GetValueOrDefault(uid);
        }

        if (Counters.Clients >= Options.MaxClients)
        {
            Counters.RefusedForMaxClients();
            return $"too many management clients: {Counters.Clients} are connected (max_clients = {Options.MaxClients}); try again when one has left";
        }

        if (clientsOfUser >= Options.MaxClientsPerUser)
        {
            Counters.RefusedForPerUser();
            return $"uid {uid} has {clientsOfUser} management connections open (max_clients_per_user = {Options.MaxClientsPerUser}); close one first";
        }

        if (FdShortage() is { } shortage)
        {
            Counters.RefusedForFds();
            return shortage;
        }

        return null;
    }

    /// <summary>Why no client can be served for want of file descriptors; null when there are enough.</summary>
    private static string? FdShortage()
    {
        var limit = OpenFiles.SoftLimit;
        var reserved = ManagementOptions.ReservedFds(limit);
        int open;
        try
        {
            open = OpenFiles.Count();
        }
        catch (IOException ex)
        {
            // Listing /proc/self/fd takes a descriptor itself: without one to spare there is certainly none for a client.
            return $"the switch cannot count its file descriptors ({ex.Message}) and keeps the last {reserved} of its {limit} for its ports and captures; try again when other clients have left";
        }

        return open <= limit - reserved
            ? null
            : $"the switch has {open} of its {limit} file descriptors open and keeps the last {reserved} for its ports and captures; try again when other clients have left";
    }

    /// <summary>Tells a client why it is not served, and closes its connection; never waits for it.</summary>
    private void Refuse(Socket client, string reason)
    {
        if (_refusalLog.TryPass(out var notLogged))
        {
            LogRefused(Logger, Path, reason, notLogged);
        }

        using (client)
        {
            try
            {
                // A new connection's send buffer is empty, so the line fits at once: a client that never reads cannot hold
                // up the accept loop.
                client.Blocking = false;
                client.Send(Encoding.UTF8.GetBytes(ManagementProtocol.Error(reason) + "\n"));
            }
            catch (SocketException)
            {
                // The client went away first; the close tells it anyway.
            }
        }
    }

    private async Task ServeAsync(Socket client, ManagementCaller caller)
    {
        try
        {
            using var connection = new ManagementConnection(this, client, caller);
            await connection.RunAsync();
        }
        catch (Exception ex) when (ex is IOException or SocketException or ManagementException or ObjectDisposedException or OperationCanceledException)
        {
            if (!Stopping.IsCancellationRequested)
            {
                Note($"uid {caller.Uid}: {ex.Message}");
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogUnexpected(Logger, Path, caller.Uid, ex);
        }
        finally
        {
            lock (_lock)
            {
                _clients.Remove(client);
                if (--_clientsByUid[caller.Uid] == 0)
                {
                    _clientsByUid.Remove(caller.Uid);
                }
            }

            client.Dispose();
            Counters.Disconnected();
        }
    }

    /// <summary>Logs what happened to a client (rate-limited: any client can make this happen at will).</summary>
    internal void Note(string what)
    {
        if (_clientLog.TryPass(out var notLogged))
        {
            LogClientError(Logger, Path, what, notLogged);
        }
    }

    public void Dispose()
    {
        _stop.Cancel();

        // Closing the listener ends the blocking accept (the runtime shuts the socket down for that).
        _listener.Dispose();
        _acceptThread.Join(AcceptLoopStopTimeout);
        lock (_lock)
        {
            foreach (var client in _clients)
            {
                client.Dispose();
            }
        }

        _thread.Dispose();
        _stop.Dispose();
        SocketFile.RemoveIfSame(File);
    }

    [LoggerMessage(EventId = 100, Level = LogLevel.Warning, Message = "management client on {Path}: {Reason}{NotLogged}")]
    private static partial void LogClientError(ILogger logger, string path, string reason, string notLogged);

    [LoggerMessage(EventId = 103, Level = LogLevel.Warning, Message = "management client on {Path} refused: {Reason}{NotLogged}")]
    private static partial void LogRefused(ILogger logger, string path, string reason, string notLogged);

    [LoggerMessage(EventId = 104, Level = LogLevel.Warning, Message = "management socket {Path}: accept failed: {Reason}; retrying in {BackoffMs} ms{NotLogged}")]
    private static partial void LogAcceptError(ILogger logger, string path, string reason, int backoffMs, string notLogged);

    [LoggerMessage(EventId = 106, Level = LogLevel.Error, Message = "management socket {Path}: unexpected error admitting a client; its connection is closed")]
    private static partial void LogUnexpectedAdmitting(ILogger logger, string path, Exception exception);

    [LoggerMessage(EventId = 105, Level = LogLevel.Error, Message = "management client on {Path} (uid {Uid}): unexpected error; the connection is closed")]
    private static partial void LogUnexpected(ILogger logger, string path, int uid, Exception exception);
}
