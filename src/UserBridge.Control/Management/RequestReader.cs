using System.Buffers;
using System.Net.Sockets;

namespace UserBridge.Control.Management;

/// <summary>
/// Reads one management client's request lines from its socket into one pooled buffer: 4 KiB while requests are short,
/// at most 128 KiB for one as long as <see cref="ManagementProtocol.MaxRequestBytes"/>. The server reads the next request
/// only after the last reply is sent, so a client that sends faster than it reads fills its own socket, not the switch.
/// </summary>
internal sealed class RequestReader : IDisposable
{
    private const int InitialBytes = 4096;
    private const int MaxBytes = ManagementProtocol.MaxRequestBytes + InitialBytes;

    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(InitialBytes);

    // The next line starts at _start; bytes up to _end were read; the first _scanned bytes after _start hold no newline.
    private int _start;
    private int _end;
    private int _scanned;

    /// <summary>
    /// The next line without its newline (valid until the next call), the rest of the input when it ends without one, or
    /// null at the end of the input. Throws <see cref="ManagementException"/> for a line over the limit.
    /// </summary>
    public async ValueTask<ReadOnlyMemory<byte>?> ReadLineAsync(Socket socket, CancellationToken cancellation)
    {
        while (true)
        {
            var newline = _buffer.AsSpan(_start + _scanned, _end - _start - _scanned).IndexOf((byte)'\n');
            _scanned = newline >= 0 ? _scanned + newline : _end - _start;
            if (_scanned > ManagementProtocol.MaxRequestBytes)
            {
                throw new ManagementException($"request longer than {ManagementProtocol.MaxRequestBytes} bytes");
            }

            if (newline >= 0)
            {
                var line = _buffer.AsMemory(_start, _scanned);
                _start += _scanned + 1;
                _scanned = 0;
                return line;
            }

            MakeRoom();
            var read = await socket.ReceiveAsync(_buffer.AsMemory(_end), SocketFlags.None, cancellation);
            if (read == 0)
            {
                if (_end == _start)
                {
                    return null;
                }

                var rest = _buffer.AsMemory(_start, _end - _start);
                _start = _end;
                _scanned = 0;
                return rest;
            }

            _end += read;
        }
    }

    /// <summary>
    /// Reads and throws away what the client sends until its input ends (true) or passes <paramref name="limitBytes"/>
    /// (false), counting what was already read after the last line.
    /// </summary>
    public async ValueTask<bool> DiscardAsync(Socket socket, long limitBytes, CancellationToken cancellation)
    {
        long discarded = _end - _start;
        _start = _end = _scanned = 0;
        while (discarded <= limitBytes)
        {
            var read = await socket.ReceiveAsync(_buffer.AsMemory(0, InitialBytes), SocketFlags.None, cancellation);
            if (read == 0)
            {
                return true;
            }

            discarded += read;
        }

        return false;
    }

    public void Dispose()
    {
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = [];
    }

    /// <summary>Makes room after <see cref="_end"/>: moves the unread bytes to the front, or doubles the buffer.</summary>
    private void MakeRoom()
    {
        if (_end < _buffer.Length)
        {
            return;
        }

        if (_start > 0)
        {
            _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
            _end -= _start;
            _start = 0;
            return;
        }

        var larger = ArrayPool<byte>.Shared.Rent(Math.Min(_buffer.Length * 2, MaxBytes));
        _buffer.AsSpan(0, _end).CopyTo(larger);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = larger;
    }
}
