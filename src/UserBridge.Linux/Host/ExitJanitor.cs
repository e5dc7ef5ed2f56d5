using System.Diagnostics;
using System.Globalization;
using UserBridge.Linux.Files;

namespace UserBridge.Linux.Host;

/// <summary>
/// Removes the switch's files when it exits, for a switch that gave up the privileges to remove them itself: its control
/// socket and registry entry in root's <c>/run/userbridge</c>, QEMU sockets bound in root's directories before it became
/// its <c>user</c>. Started as root just before the switch drops privileges: a <c>/bin/sh</c> child that ignores the
/// signals a stop sends, waits for the end of its input (the switch's end of the pipe closes when the switch exits, however
/// it exits), then removes each file whose path still names the file the switch created (same device and inode): never
/// one another process created there since.
/// </summary>
/// <remarks>
/// The alternatives were worse: a capability kept for the exit (CAP_DAC_OVERRIDE reads and writes any file, and a
/// switch with <c>runtime_changes = false</c> promises to keep none), or a runtime directory given to the user (every
/// switch shares <c>/run/userbridge</c>). The child can do nothing but remove those files, and only after the switch is
/// gone.
/// </remarks>
public static class ExitJanitor
{
    private const string Script = """
        trap '' INT TERM HUP
        cat >/dev/null
        while [ $# -ge 2 ]; do
          [ "$(stat -c %d:%i -- "$1" 2>/dev/null)" = "$2" ] && rm -f -- "$1"
          shift 2
        done
        """;

    // Referenced for the life of the process: collecting it would close the switch's end of the pipe, and the janitor
    // would clean up while the switch still runs.
    private static Process? s_janitor;

    /// <summary>Starts the janitor for <paramref name="files"/> (none: no janitor); the process id, or null when it could not start.</summary>
    public static int? Start(IReadOnlyCollection<CreatedFile> files)
    {
        ArgumentNullException.ThrowIfNull(files);
        if (files.Count == 0 || s_janitor is not null)
        {
            return s_janitor?.Id;
        }

        var start = new ProcessStartInfo("/bin/sh") { RedirectStandardInput = true, UseShellExecute = false };
        foreach (var argument in (string[])["-c", Script, "userbridge-janitor"])
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var file in files)
        {
            start.ArgumentList.Add(file.Path);
            start.ArgumentList.Add(string.Create(CultureInfo.InvariantCulture, $"{file.Device}:{file.Inode}"));
        }

        try
        {
            s_janitor = Process.Start(start);
            return s_janitor?.Id;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }
}
