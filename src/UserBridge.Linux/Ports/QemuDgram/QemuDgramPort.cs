using Tmds.Linux;
using UserBridge.Core.Buffers;
using UserBridge.Core.Ports;
using UserBridge.Linux.Files;
using UserBridge.Linux.Interop;

namespace UserBridge.Linux.Ports.QemuDgram;

/// <summary>
/// QEMU's <c>-netdev dgram</c> over unix datagram sockets: one frame per datagram. The switch binds
/// <see cref="Interface"/>; it sends to the configured remote, or else to the address the last datagram came
/// from. Sends never block: a full peer queue (EAGAIN) refuses the frame, counted as a tx error. Both ends are
/// bound paths, so this survives a restart of either side.
/// </summary>
public sealed unsafe class QemuDgramPort : IPollablePort, IFrameSource, ICreatesFiles
{
    private readonly int _fd;
    private readonly FdWaiter _waiter;
    private readonly byte[] _sourceAddress = GC.AllocateArray<byte>(UnixSocket.AddressSize, pinned: true);
    private readonly bool _remoteFixed;
    private readonly CreatedFile _file;
    private PeerAddress? _peer;
    private int _disposed;

    private QemuDgramPort(string name, CreatedFile file, int fd, PeerAddress? remote)
    {
        Name = name;
        Interface = file.Path;
        _file = file;
        _fd = fd;
        _peer = remote;
        _remoteFixed = remote is not null;
        _waiter = new FdWaiter(file.Path);
    }

    public string Name { get; }

    public string Type => "qemu-dgram";

    public string Interface { get; }

    /// <summary>The socket file it bound.</summary>
    public CreatedFile File => _file;

    IReadOnlyList<CreatedFile> ICreatesFiles.Files => [_file];

    /// <summary>Binds <paramref name="path"/> (replacing a stale socket, refusing any other file) with <paramref name="mode"/>.</summary>
    public static QemuDgramPort Open(string name, string path, string? remote, UnixFileMode mode, string? group)
    {
        var fd = UnixSocket.CreateDatagram(path);
        try
        {
            var bound = SocketFile.Bind(fd, path, mode, group);
            return new QemuDgramPort(name, bound, fd, remote is null ? null : PeerAddress.From(remote));
        }
        catch
        {
            FileDescriptor.CloseQuietly(fd);
            throw;
        }
    }

    public int PollFd => _fd;

    public int Receive(PacketBuffer[] batch) => BatchReceiver.Receive(this, batch, _waiter, _fd);

    public int TryReceive(PacketBuffer[] batch, int pollEvents) => BatchReceiver.TryReceive(this, batch, pollEvents);

    int IFrameSource.ReadOne(PacketBuffer buffer)
    {
        var addressLength = UnixSocket.AddressSize;
        var length = BatchReceiver.ReceiveFrom(_fd, buffer, _sourceAddress, ref addressLength);
        if (length < 0)
        {
            return BatchReceiver.Failed(LibC.errno, "recvfrom", Interface, Name);
        }

        buffer.Length = (int)length;
        LearnPeer(addressLength);
        return BatchReceiver.Read;
    }

    void IFrameSource.OnPollError(int revents) =>
        throw new PortException($"poll {Interface} (port {Name}): the socket reported an error (revents 0x{revents:x})");

    public void Wake() => _waiter.Wake();

    public bool Send(ReadOnlySpan<byte> frame)
    {
        var peer = Volatile.Read(ref _peer);
        if (peer is null)
        {
            return false;
        }

        fixed (byte* p = frame)
        fixed (byte* address = peer.Address)
        {
            const int MSG_DONTWAIT = 0x40;
            return LibC.sendto(_fd, p, frame.Length, MSG_DONTWAIT, (sockaddr*)address, peer.Length) == frame.Length;
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        FileDescriptor.CloseQuietly(_fd);
        _waiter.Dispose();
        SocketFile.RemoveIfSame(_file);
    }

    /// <summary>Remembers where the VM sends from, unless a remote was configured. Allocates only on a change.</summary>
    private void LearnPeer(int addressLength)
    {
        if (_remoteFixed || addressLength <= 2)
        {
            return;
        }

        var current = Volatile.Read(ref _peer);
        if (current is not null && current.Matches(_sourceAddress.AsSpan(0, addressLength)))
        {
            return;
        }

        // Release: the new address is fully written before other workers' Send can read it.
        Volatile.Write(ref _peer, new PeerAddress(_sourceAddress.AsSpan(0, addressLength).ToArray()));
    }

    /// <summary>An immutable sockaddr_un, swapped whole so that no sender sees half of a new address.</summary>
    private sealed class PeerAddress(byte[] address)
    {
        public byte[] Address { get; } = address;

        public int Length => Address.Length;

        public static PeerAddress From(string path)
        {
            var address = new byte[UnixSocket.AddressSize];
            var length = UnixSocket.WriteAddress(path, address);
            return new PeerAddress(address.AsSpan(0, length).ToArray());
        }

        public bool Matches(ReadOnlySpan<byte> address) => address.SequenceEqual(Address);
    }
}
