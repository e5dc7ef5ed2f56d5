using System.Text.Json.Nodes;
using UserBridge.Linux.Host;

namespace UserBridge.Control.Management;

/// <summary>
/// What the management socket refused and cut off, for <c>userbridge stats</c> (its <c>management</c> object): each
/// limit of <see cref="ManagementOptions"/> counts when it acts, so an operator sees a flood or a stuck client that the
/// rate-limited log mentions only now and then.
/// </summary>
public sealed class ManagementCounters(ManagementOptions options)
{
    private int _clients;
    private long _refusedMaxClients;
    private long _refusedPerUser;
    private long _refusedFds;
    private long _refusedPermission;
    private long _acceptErrors;
    private long _slowReaders;
    private long _streamInput;
    private long _longRequests;
    private long _internalErrors;

    /// <summary>Clients connected now.</summary>
    public int Clients => Volatile.Read(ref _clients);

    internal void Connected() => Interlocked.Increment(ref _clients);

    internal void Disconnected() => Interlocked.Decrement(ref _clients);

    internal void RefusedForMaxClients() => Interlocked.Increment(ref _refusedMaxClients);

    internal void RefusedForPerUser() => Interlocked.Increment(ref _refusedPerUser);

    internal void RefusedForFds() => Interlocked.Increment(ref _refusedFds);

    internal void RefusedForPermission() => Interlocked.Increment(ref _refusedPermission);

    internal void AcceptFailed() => Interlocked.Increment(ref _acceptErrors);

    internal void CutSlowReader() => Interlocked.Increment(ref _slowReaders);

    internal void CutStreamInput() => Interlocked.Increment(ref _streamInput);

    internal void CutLongRequest() => Interlocked.Increment(ref _longRequests);

    internal void InternalError() => Interlocked.Increment(ref _internalErrors);

    /// <summary>The counters with the limits they count against, and the process's file descriptors now.</summary>
    public JsonObject Describe()
    {
        var fdLimit = OpenFiles.SoftLimit;
        return new JsonObject
        {
            ["clients"] = Clients,
            ["max_clients"] = options.MaxClients,
            ["max_clients_per_user"] = options.MaxClientsPerUser,
            ["open_fds"] = OpenFiles.Count(),
            ["fd_limit"] = fdLimit,
            ["reserved_fds"] = ManagementOptions.ReservedFds(fdLimit),
            ["refused_max_clients"] = Interlocked.Read(ref _refusedMaxClients),
            ["refused_max_clients_per_user"] = Interlocked.Read(ref _refusedPerUser),
            ["refused_file_descriptors"] = Interlocked.Read(ref _refusedFds),
            ["refused_permission"] = Interlocked.Read(ref _refusedPermission),
            ["cut_off_slow_reader"] = Interlocked.Read(ref _slowReaders),
            ["cut_off_stream_input"] = Interlocked.Read(ref _streamInput),
            ["cut_off_long_request"] = Interlocked.Read(ref _longRequests),
            ["accept_errors"] = Interlocked.Read(ref _acceptErrors),
            ["internal_errors"] = Interlocked.Read(ref _internalErrors),
        };
    }
}
