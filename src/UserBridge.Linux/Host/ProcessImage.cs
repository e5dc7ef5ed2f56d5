using System.Runtime.InteropServices;
using System.Text;

namespace UserBridge.Linux.Host;

/// <summary>
/// Starting this very process again (<c>execve</c> of <c>/proc/self/exe</c> with the same arguments, the same PID) with
/// one more environment variable: for the runtime settings that only the environment can give, such as the garbage
/// collector's young-generation budget (see <c>RunCommand</c>).
/// </summary>
public static unsafe partial class ProcessImage
{
    /// <summary>
    /// Replaces the process image with itself, <paramref name="variable"/> set to <paramref name="value"/>; returns only
    /// if that fails (the caller goes on as it is). Call it first thing, before threads of the process's own exist.
    /// </summary>
    public static void RestartWith(string variable, string value)
    {
        // The arguments exactly as this process got them (dotnet's own, or the apphost's), NUL-separated.
        var arguments = File.ReadAllBytes("/proc/self/cmdline").AsSpan().TrimEnd((byte)0).ToArray();
        var argv = Split(arguments);
        var environment = Environment.GetEnvironmentVariables();
        environment[variable] = value;
        var envp = new List<byte[]>();
        foreach (System.Collections.DictionaryEntry entry in environment)
        {
            envp.Add(Encoding.UTF8.GetBytes($"{entry.Key}={entry.Value}\0"));
        }

        var handles = new List<GCHandle>();
        try
        {
            var argvPointers = Pointers(argv, handles);
            var envpPointers = Pointers(envp, handles);
            fixed (byte* path = "/proc/self/exe\0"u8)
            fixed (byte** argvBlock = argvPointers)
            fixed (byte** envpBlock = envpPointers)
            {
                _ = Execve(path, argvBlock, envpBlock);
            }
        }
        finally
        {
            handles.ForEach(handle => handle.Free());
        }
    }

    private static List<byte[]> Split(byte[] arguments)
    {
        var parts = new List<byte[]>();
        var start = 0;
        for (var i = 0; i <= arguments.Length; i++)
        {
            if (i == arguments.Length || arguments[i] == 0)
            {
                parts.Add([.. arguments.AsSpan(start, i - start), 0]);
                start = i + 1;
            }
        }

        return parts;
    }

    /// <summary>A NULL-terminated array of pointers to the (pinned) strings.</summary>
    private static byte*[] Pointers(List<byte[]> strings, List<GCHandle> handles)
    {
        var pointers = new byte*[strings.Count + 1];
        for (var i = 0; i < strings.Count; i++)
        {
            var handle = GCHandle.Alloc(strings[i], GCHandleType.Pinned);
            handles.Add(handle);
            pointers[i] = (byte*)handle.AddrOfPinnedObject();
        }

        return pointers;
    }

    [LibraryImport("libc", EntryPoint = "execve", SetLastError = true)]
    private static partial int Execve(byte* path, byte** argv, byte** envp);
}
