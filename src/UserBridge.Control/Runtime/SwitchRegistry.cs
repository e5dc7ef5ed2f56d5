using UserBridge.Control.Management;
using UserBridge.Linux.Files;


namespace UserBridge.Control.Runtime;

/// <summary>
/// Where running switches announce themselves, so that tools (the Wireshark extcap) can find them without guessing
/// which unix sockets are management sockets (a QEMU port's socket may sit next to them): one small file per switch,
/// <c>RUN_DIR/switches/NAME</c>, holding its control socket's path. RUN_DIR is <c>/run/userbridge</c>, or
/// <c>$USERBRIDGE_RUN_DIR</c>.
/// </summary>
public static class SwitchRegistry
{
    public const string RunDirVariable = "USERBRIDGE_RUN_DIR";

    public static string Directory => Path.Combine(Environment.GetEnvironmentVariable(RunDirVariable) is { Length: > 0 } dir ? dir : "/run/userbridge", "switches");

    /// <summary>
    /// Announces a switch; disposing the result withdraws it. Null when the directory cannot be written (a switch
    /// run without root): the switch works, only discovery does not.
    /// </summary>
    public static Registration? Register(string name, string controlPath)
    {
        var entry = Path.Combine(Directory, name);
        try
        {
            System.IO.Directory.CreateDirectory(Directory);
            File.WriteAllText(entry, Path.GetFullPath(controlPath) + "\n");
            return new Registration(SocketFile.Identify(entry));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The switches whose control socket answers, by name.</summary>
    public static IReadOnlyList<(string Name, string ControlPath)> Running()
    {
        if (!System.IO.Directory.Exists(Directory))
        {
            return [];
        }

        var running = new List<(string, string)>();
        foreach (var entry in System.IO.Directory.EnumerateFiles(Directory).Order(StringComparer.Ordinal))
        {
            try
            {
                var path = File.ReadAllText(entry).Trim();
                if (File.Exists(path) && ManagementClient.IsAlive(path))
                {
                    running.Add((Path.GetFileName(entry), path));
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Withdrawn while we looked, or not ours to read: not a switch we can talk to.
            }
        }

        return running;
    }

    /// <summary>A switch's entry; disposing it removes the file, if it is still the one written.</summary>
    public sealed class Registration(CreatedFile entry) : IDisposable
    {
        /// <summary>The entry's file.</summary>
        public CreatedFile File { get; } = entry;

        public void Dispose() => SocketFile.RemoveIfSame(File);
    }
}
