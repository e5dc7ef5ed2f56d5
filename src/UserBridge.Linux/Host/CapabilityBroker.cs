using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;

namespace UserBridge.Linux.Host;

/// <summary>
/// The one thread that keeps capabilities after the switch drops root (<see cref="Privileges.DropTo"/>): operations that
/// need one (opening a TAP or a packet socket at runtime) run on it through <see cref="Run{T}"/>. Before the drop, or
/// when nothing is kept, <see cref="Run{T}"/> runs the operation on the caller's thread.
/// </summary>
public sealed class CapabilityBroker : IDisposable
{
    private readonly BlockingCollection<Action> _work = [];
    private readonly Thread _thread;

    internal CapabilityBroker()
    {
        _thread = new Thread(Serve) { IsBackground = true, Name = "ub-privileged" };
        _thread.Start();
    }

    /// <summary>The broker of this process once it dropped root while keeping capabilities; null otherwise.</summary>
    public static CapabilityBroker? Current { get; internal set; }

    /// <summary>Runs <paramref name="operation"/> with the kept capabilities, and returns its result or throws its exception.</summary>
    public static T Run<T>(Func<T> operation)
    {
        ArgumentNullException.ThrowIfNull(operation);
        if (Current is not { } broker)
        {
            return operation();
        }

        var result = default(T);
        broker.Invoke(() => result = operation());
        return result!;
    }

    /// <summary>Runs <paramref name="operation"/> on the broker's thread and waits for it.</summary>
    public void Invoke(Action operation)
    {
        ExceptionDispatchInfo? failure = null;
        using var done = new ManualResetEventSlim();
        _work.Add(() =>
        {
            try
            {
                operation();
            }
            catch (Exception ex)
            {
                failure = ExceptionDispatchInfo.Capture(ex);
            }
            finally
            {
                done.Set();
            }
        });
        done.Wait();
        failure?.Throw();
    }

    public void Dispose()
    {
        _work.CompleteAdding();
        _thread.Join();
        _work.Dispose();
    }

    private void Serve()
    {
        foreach (var work in _work.GetConsumingEnumerable())
        {
            work();
        }
    }
}
