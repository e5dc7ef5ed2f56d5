using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using UserBridge.Linux.Interop;

namespace UserBridge.Linux.Files;

/// <summary>
/// <c>pwritev</c>: one write of three pieces (a block's header, a frame where it already lies, the block's trailer) at
/// an offset, so a large frame reaches the file without being copied into a block buffer first.
/// </summary>
public static unsafe partial class FileGather
{
    /// <summary>Writes all three pieces at <paramref name="offset"/>; throws <see cref="IOException"/> naming <paramref name="path"/> and the errno text.</summary>
    public static void Write(SafeFileHandle file, long offset, ReadOnlySpan<byte> head, ReadOnlySpan<byte> body, ReadOnlySpan<byte> tail, string path)
    {
        ArgumentNullException.ThrowIfNull(file);
        var fd = (int)file.DangerousGetHandle();
        var total = (long)head.Length + body.Length + tail.Length;
        var written = 0L;
        var iov = stackalloc IoVec[3];
        fixed (byte* h = head, b = body, t = tail)
        {
            while (written < total)
            {
                var count = 0;
                Add(iov, ref count, h, head.Length, written);
                Add(iov, ref count, b, body.Length, written - head.Length);
                Add(iov, ref count, t, tail.Length, written - head.Length - body.Length);
                var result = PWriteV(fd, iov, count, offset + written);
                if (result < 0)
                {
                    var errno = Marshal.GetLastPInvokeError();
                    if (errno == Errno.EINTR)
                    {
                        continue;
                    }

                    throw new IOException($"write {path}: {Errno.Describe(errno)}", errno);
                }

                written += result;
            }
        }
    }

    /// <summary>Adds what is left of a piece once <paramref name="skip"/> of its bytes were written.</summary>
    private static void Add(IoVec* iov, ref int count, byte* start, int length, long skip)
    {
        var from = Math.Max(0, skip);
        if (from >= length)
        {
            return;
        }

        iov[count].Base = start + from;
        iov[count].Length = (nuint)(length - from);
        count++;
    }

    [LibraryImport("libc", EntryPoint = "pwritev", SetLastError = true)]
    private static partial long PWriteV(int fd, IoVec* iov, int count, long offset);
}
