using UserBridge.Linux.Files;


namespace UserBridge.Capture;

/// <summary>
/// Where a capture's pcapng goes: a stream (stdout, a pipe, a socket) or files (rotated by size). A capture writes
/// one pcapng section per stream it opens here.
/// </summary>
public abstract class CaptureOutput : IDisposable
{
    /// <summary>Where the capture goes, for <c>capture list</c> and logs.</summary>
    public abstract string Description { get; }

    /// <summary>
    /// True: a failed write costs only that packet, which the capture counts as dropped, and the capture goes on (a
    /// full disk may empty again). False: a failed write means the reader is gone, and the capture ends.
    /// </summary>
    public virtual bool SurvivesWriteErrors => false;

    /// <summary>True when the current section should end and the next begin (the file reached its size).</summary>
    public virtual bool ShouldRotate => false;

    /// <summary>Blocks that were written and then lost to a failed write of the output (a full disk), so far.</summary>
    public virtual long LostBlocks => 0;

    /// <summary>Opens the stream of the next section: the first, then one per rotation.</summary>
    public abstract Stream OpenSection();

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
    }
}

/// <summary>
/// A capture into a stream it does not own (stdout, a FIFO, a socket), in one section, buffered between flushes.
/// <paramref name="preamble"/>, if given, goes out first (the management reply that announces the stream).
/// </summary>
public sealed class StreamCaptureOutput(Stream stream, string description, byte[]? preamble = null) : CaptureOutput
{
    private BufferedStream? _buffered;

    public override string Description { get; } = description;

    public override Stream OpenSection()
    {
        if (_buffered is not null)
        {
            throw new InvalidOperationException("a stream capture has one section");
        }

        _buffered = new BufferedStream(stream, 64 * 1024);
        if (preamble is not null)
        {
            _buffered.Write(preamble);
        }

        return _buffered;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && _buffered is not null)
        {
            try
            {
                _buffered.Flush();
            }
            catch (IOException)
            {
                // The reader is gone; what was not flushed has nowhere to go.
            }
        }

        base.Dispose(disposing);
    }
}

/// <summary>
/// A capture into files. Without rotation: exactly <see cref="Path"/>. With <c>rotate_bytes</c>: numbered files
/// next to it, named as Wireshark's ring buffer names them (<c>ub0_00001_20261128140101.pcapng</c>), a new one
/// when the current one reaches the size, keeping at most <c>keep_files</c> (the oldest are deleted). Each block is
/// one write; a write that fails (a full disk) is cut off again, so the file stays readable. The file's page cache is
/// kept small (<see cref="WriteBehind"/>): a capture is written once and not read back by the switch.
/// </summary>
public sealed class FileCaptureOutput : CaptureOutput
{
    private readonly long _rotateBytes;
    private readonly int _keepFiles;
    private readonly Queue<string> _files = new();
    private BlockFileStream? _current;
    private int _sequence;
    private long _lostInClosedFiles;

    public FileCaptureOutput(string path, long rotateBytes = 0, int keepFiles = 0)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentOutOfRangeException.ThrowIfNegative(rotateBytes);
        ArgumentOutOfRangeException.ThrowIfNegative(keepFiles);
        Path = System.IO.Path.GetFullPath(path);
        _rotateBytes = rotateBytes;
        _keepFiles = keepFiles;
    }

    public string Path { get; }

    /// <summary>The file being written.</summary>
    public string? CurrentFile { get; private set; }

    public override string Description => _rotateBytes > 0 ? $"files {CurrentFile ?? Path} (rotating every {_rotateBytes} bytes, keeping {(_keepFiles == 0 ? "all" : _keepFiles)})" : $"file {Path}";

    public override bool SurvivesWriteErrors => true;

    public override bool ShouldRotate => _rotateBytes > 0 && _current is not null && _current.Length >= _rotateBytes;

    public override long LostBlocks => _lostInClosedFiles + (_current?.LostBlocks ?? 0);

    public override Stream OpenSection()
    {
        _lostInClosedFiles += _current?.LostBlocks ?? 0;
        _current?.Dispose();
        _current = null;
        var file = _rotateBytes > 0 ? RingFileName(++_sequence) : Path;
        try
        {
            var directory = System.IO.Path.GetDirectoryName(file);
            if (!string.IsNullOrEmpty(directory))
            {
                Directory.CreateDirectory(directory);
            }

            _current = new BlockFileStream(new FileStream(file, new FileStreamOptions
            {
                Mode = FileMode.Create,
                Access = FileAccess.ReadWrite,
                Share = FileShare.Read,
                BufferSize = 0,
                UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            }), file);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CaptureException($"{file}: cannot write the capture: {ex.Message}", ex);
        }

        CurrentFile = file;
        _files.Enqueue(file);
        while (_keepFiles > 0 && _files.Count > _keepFiles)
        {
            File.Delete(_files.Dequeue());
        }

        return _current;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _current?.Dispose();
            _current = null;
        }

        base.Dispose(disposing);
    }

    private string RingFileName(int sequence)
    {
        var directory = System.IO.Path.GetDirectoryName(Path) ?? ".";
        var stem = System.IO.Path.GetFileNameWithoutExtension(Path);
        var extension = System.IO.Path.GetExtension(Path);
        return System.IO.Path.Combine(directory, $"{stem}_{sequence:D5}_{DateTime.Now:yyyyMMddHHmmss}{(extension.Length == 0 ? ".pcapng" : extension)}");
    }

    /// <summary>
    /// A file written one block at a time: with <c>O_DIRECT</c> where the filesystem has it (<see cref="DirectFileWriter"/>),
    /// else through the page cache, one write per block (a large frame gathered from where it lies), the cache kept small
    /// (<see cref="WriteBehind"/>). Either way a write that fails leaves the file readable, cut back to a block boundary.
    /// </summary>
    private sealed class BlockFileStream : Stream, IBlockSink
    {
        private readonly FileStream _file;
        private readonly string _path;
        private readonly DirectFileWriter? _direct;
        private readonly WriteBehind? _writeBehind;
        private long _position;

        public BlockFileStream(FileStream file, string path)
        {
            _file = file;
            _path = path;
            _direct = DirectFileWriter.TryOpen(path, file.SafeFileHandle);
            _writeBehind = _direct is null ? new WriteBehind(file.SafeFileHandle) : null;
        }

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => _direct?.Length ?? _position;

        public long LostBlocks => _direct?.LostBlocks ?? 0;

        public override long Position
        {
            get => Length;
            set => throw new NotSupportedException();
        }

        public override void Write(byte[] buffer, int offset, int count) => WriteBlock(buffer.AsSpan(offset, count), default, default);

        public void WriteBlock(ReadOnlySpan<byte> head, ReadOnlySpan<byte> body, ReadOnlySpan<byte> tail)
        {
            if (_direct is not null)
            {
                _direct.Write(head, body, tail);
                return;
            }

            var start = _position;
            try
            {
                FileGather.Write(_file.SafeFileHandle, start, head, body, tail, _path);
            }
            catch (IOException)
            {
                RandomAccess.SetLength(_file.SafeFileHandle, start);
                throw;
            }

            _position = start + head.Length + body.Length + tail.Length;
            _writeBehind!.Written(_position);
        }

        public override void Flush() => _direct?.Flush();

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _direct?.Dispose();
                _file.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
