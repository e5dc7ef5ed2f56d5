using Microsoft.Win32.SafeHandles;
using Tmds.Linux;

namespace UserBridge.Linux.Files;

/// <summary>
/// Keeps the page cache of a file written as a stream (a capture) small: every <see cref="ChunkBytes"/> written, the
/// kernel is asked to start writing that chunk out, and the chunk before it is waited for and dropped from the cache.
/// The writer then keeps reusing the same few chunks of memory instead of filling the machine's memory with pages
/// nobody reads again. Where memory is first touched slowly (a VM whose host backs guest pages on first use), this is
/// the difference between ~0.4 and several GB/s of capture.
/// </summary>
public sealed class WriteBehind(SafeFileHandle file)
{
    public const long ChunkBytes = 32L << 20;

    private long _started;

    /// <summary>Tells it how far the file has been written; call after each write.</summary>
    public void Written(long length)
    {
        var fd = (int)file.DangerousGetHandle();
        while (length - _started >= ChunkBytes)
        {
            // Advisory: a failure here loses nothing (the data is in the cache and is written out later anyway).
            _ = LibC.sync_file_range(fd, _started, ChunkBytes, (uint)LibC.SYNC_FILE_RANGE_WRITE);
            if (_started >= ChunkBytes)
            {
                var previous = _started - ChunkBytes;
                _ = LibC.sync_file_range(fd, previous, ChunkBytes, (uint)(LibC.SYNC_FILE_RANGE_WAIT_BEFORE | LibC.SYNC_FILE_RANGE_WRITE | LibC.SYNC_FILE_RANGE_WAIT_AFTER));
                _ = LibC.posix_fadvise(fd, previous, ChunkBytes, LibC.POSIX_FADV_DONTNEED);
            }

            _started += ChunkBytes;
        }
    }
}
