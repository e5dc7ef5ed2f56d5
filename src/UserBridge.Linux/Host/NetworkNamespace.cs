using Tmds.Linux;
using UserBridge.Linux.Interop;

namespace UserBridge.Linux.Host;

/// <summary>
/// Opens sockets in a named network namespace (<c>/run/netns/NAME</c>, as <c>ip netns</c> makes them): on a thread of
/// its own that enters the namespace first, so that the process stays where it is. A socket keeps the namespace it was
/// created in for good, whichever thread uses it later.
/// </summary>
public static class NetworkNamespace
{
    private const int CLONE_NEWNET = 0x40000000;

    /// <summary>Runs <paramref name="open"/> inside namespace <paramref name="name"/> and returns what it returns (or throws what it throws).</summary>
    public static T Run<T>(string name, Func<T> open)
    {
        ArgumentNullException.ThrowIfNull(open);
        var path = $"/run/netns/{name}";
        T? result = default;
        Exception? error = null;
        var thread = new Thread(() =>
        {
            try
            {
                using var handle = File.OpenHandle(path);
                if (LibC.setns((int)handle.DangerousGetHandle(), CLONE_NEWNET) < 0)
                {
                    throw new InteropException($"setns {path}", LibC.errno, "entering another network namespace needs CAP_SYS_ADMIN");
                }

                result = open();
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                error = new InteropException($"network namespace {name}: {ex.Message}; create it with ip netns add {name}", ex);
            }
            catch (Exception ex)
            {
                error = ex;
            }
        })
        { Name = $"ub-netns-{name}" };
        thread.Start();
        thread.Join();
        return error is null ? result! : throw error;
    }
}
