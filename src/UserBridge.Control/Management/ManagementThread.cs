using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using UserBridge.Linux.Host;

namespace UserBridge.Control.Management;

/// <summary>
/// The one thread that runs everything the management socket does: accepting clients, parsing requests, running verbs,
/// writing replies. Its <see cref="SynchronizationContext"/> brings every <c>await</c> of that code back to it, so
/// however many clients send however many requests, the control plane takes at most one CPU, and at nice
/// <see cref="Nice"/> that CPU goes to the port workers (nice 0) whenever they want it: a flood of <c>fdb show</c> slows
/// the replies, never the frames. One thread also means the server's own state (clients per uid) needs no lock.
/// </summary>
/// <remarks>
/// Code on this thread must not wait synchronously for work that is posted back to it. Verbs do not: their waits are
/// for other threads (the capability broker, a capture's writer), and the awaits of the libraries under them do not
/// come back here (they use <c>ConfigureAwait(false)</c>).
/// </remarks>
internal sealed partial class ManagementThread : SynchronizationContext, IDisposable
{
    /// <summary>The thread's nice value: below every worker (0), so management yields the CPU to forwarding.</summary>
    public const int Nice = 10;

    private static readonly TimeSpan JoinTimeout = TimeSpan.FromSeconds(2);

    private readonly BlockingCollection<(SendOrPostCallback Callback, object? State)> _work = [];
    private readonly ILogger _logger;
    private readonly Thread _thread;

    public ManagementThread(ILogger logger)
    {
        _logger = logger;
        _thread = new Thread(Run) { IsBackground = true, Name = "ub-management" };
        _thread.Start();
    }

    /// <summary>Starts <paramref name="work"/> on the thread; its awaits come back to it.</summary>
    public void Start(Func<Task> work) => Post(static state => _ = ((Func<Task>)state!)(), work);

    public override void Post(SendOrPostCallback d, object? state)
    {
        try
        {
            _work.Add((d, state));
        }
        catch (InvalidOperationException)
        {
            // The server is closed: what was still to run belongs to clients that are gone with it.
        }
    }

    public override void Send(SendOrPostCallback d, object? state) =>
        throw new NotSupportedException("the management thread takes work by Post only: a synchronous Send could wait for itself");

    public override SynchronizationContext CreateCopy() => this;

    /// <summary>Stops taking work and waits (briefly) for the thread to finish what it is doing.</summary>
    public void Dispose()
    {
        _work.CompleteAdding();

        // A verb still running past the timeout keeps the queue it will read next; the thread is a background one.
        if (Thread.CurrentThread != _thread && _thread.Join(JoinTimeout))
        {
            _work.Dispose();
        }
    }

    private void Run()
    {
        ThreadNice.Lower(Nice);
        SetSynchronizationContext(this);
        foreach (var (callback, state) in _work.GetConsumingEnumerable())
        {
            try
            {
                callback(state);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // Work posted here is async code whose exceptions end in its own task; one that escapes anyway must not
                // take the thread, and with it every management client, down.
                LogUnexpected(_logger, ex);
            }
        }
    }

    [LoggerMessage(EventId = 102, Level = LogLevel.Error, Message = "management thread: unexpected error; it goes on serving")]
    private static partial void LogUnexpected(ILogger logger, Exception exception);
}
