using System.Runtime.InteropServices;
using Tmds.Linux;
using UserBridge.Linux.Interop;

namespace UserBridge.Integration.Tests;

/// <summary>
/// Sends frames out of an interface of a test namespace in bursts, one <c>sendmmsg</c> per burst, past the qdisc
/// (<c>PACKET_QDISC_BYPASS</c>) and without receiving anything (protocol 0): a load generator that spends as little of
/// the machine's CPU as it can, so that what a test measures is the switch, not its traffic source.
/// </summary>
internal sealed unsafe partial class FrameBurstSender : IDisposable
{
    private const int AF_PACKET = 17;
    private const int SOCK_RAW = 3;
    private const int SOL_PACKET = 263;
    private const int PACKET_QDISC_BYPASS = 20;
    private const int MsgHeaderSize = 64;

    private readonly int _fd;

    private FrameBurstSender(int fd) => _fd = fd;

    /// <summary>A sender on <paramref name="interfaceName"/> of namespace <paramref name="ns"/>.</summary>
    public static FrameBurstSender Open(string ns, string interfaceName) =>
        NamespaceSockets.Run(ns, () => Open(interfaceName), $"cannot open a packet socket on {interfaceName} in {ns}");

    /// <summary>
    /// Sends <paramref name="count"/> frames of <paramref name="frameLength"/> bytes each, laid end to end in
    /// <paramref name="frames"/>; returns how many the kernel took (fewer when the interface's queue is full).
    /// </summary>
    public int Send(byte[] frames, int frameLength, int count)
    {
        var headers = stackalloc byte[MsgHeaderSize * count];
        var vectors = stackalloc iovec[count];
        new Span<byte>(headers, MsgHeaderSize * count).Clear();
        fixed (byte* data = frames)
        {
            for (var i = 0; i < count; i++)
            {
                vectors[i].iov_base = data + (i * frameLength);
                vectors[i].iov_len = (size_t)(nuint)frameLength;
                var header = (msghdr*)(headers + (i * MsgHeaderSize));
                header->msg_iov = &vectors[i];
                header->msg_iovlen = 1;
            }

            var sent = SendMany(_fd, headers, (uint)count, 0);
            return sent < 0 ? 0 : sent;
        }
    }

    public void Dispose() => _ = LibC.close(_fd);

    private static FrameBurstSender Open(string interfaceName)
    {
        var index = NetDevice.InterfaceIndex(interfaceName) ?? throw new InvalidOperationException($"no interface {interfaceName}");
        var fd = LibC.socket(AF_PACKET, SOCK_RAW | LibC.SOCK_CLOEXEC, 0);
        Assert.True(fd >= 0, $"socket(AF_PACKET): errno {LibC.errno}");
        var bypass = 1;
        Assert.Equal(0, LibC.setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &bypass, sizeof(int)));
        var address = stackalloc byte[20];
        new Span<byte>(address, 20).Clear();
        *(ushort*)address = AF_PACKET;
        *(int*)(address + 4) = index;
        Assert.True(LibC.bind(fd, (sockaddr*)address, 20) == 0, $"bind {interfaceName}: errno {LibC.errno}");
        return new FrameBurstSender(fd);
    }

    [LibraryImport("libc", EntryPoint = "sendmmsg", SetLastError = true)]
    private static partial int SendMany(int fd, byte* messages, uint count, int flags);
}
