using System.Buffers.Binary;
using Tmds.Linux;
using UserBridge.Core.Offload;
using static UserBridge.Linux.Ports.Packet.PacketInterop;
using UserBridge.Core.Buffers;
using UserBridge.Core.Frames;
using UserBridge.Core.Ports;
using UserBridge.Linux.Interop;

namespace UserBridge.Linux.Ports.Packet;

/// <summary>
/// An existing interface attached through an AF_PACKET socket: a QEMU VM's own TAP, a veth, a macvlan. The
/// interface is put in promiscuous mode; the switch's own transmissions are not read back
/// (<c>PACKET_IGNORE_OUTGOING</c>, and the packet type as a fallback); VLAN tags the kernel strips are put back
/// from <c>PACKET_AUXDATA</c>; and <c>PACKET_VNET_HDR</c> makes the kernel hand over offloaded frames (64 KiB
/// GSO frames, unfinished checksums, as a VM with QEMU's default <c>vnet_hdr=on</c> sends) with their
/// virtio-net header instead of silently passing broken frames.
/// </summary>
/// <remarks>
/// Frames are read at offset 4 of the buffer, so that a stripped tag can be re-inserted by moving only the 12
/// address bytes back. When the kernel stripped a tag, the header's checksum start (relative to the untagged
/// frame) moves by the 4 bytes of the tag.
/// </remarks>
public sealed unsafe class PacketSocketPort : IPollablePort, IOffloadPort, IFrameSource
{
    private const int TagRoom = EthernetFrame.VlanTagLength;
    private const int ControlBufferSize = 64;

    private readonly int _fd;
    private readonly FdWaiter _waiter;
    private readonly byte[] _rxHeader = GC.AllocateArray<byte>(VirtioNetHeader.Size, pinned: true);
    private readonly byte[] _control = GC.AllocateArray<byte>(ControlBufferSize, pinned: true);
    private int _disposed;

    private PacketSocketPort(string name, string interfaceName, int fd)
    {
        Name = name;
        Interface = interfaceName;
        _fd = fd;
        _waiter = new FdWaiter(interfaceName);
    }

    public string Name { get; }

    public string Type => "packet";

    public string Interface { get; }

    /// <summary>Frames sent here may be GSO frames or carry unfinished checksums: the kernel finishes them.</summary>
    public bool AcceptsOffloads => true;

    /// <summary>Opens a packet socket on <paramref name="interfaceName"/> of the calling thread's network namespace.</summary>
    public static PacketSocketPort Open(string interfaceName, string? portName = null)
    {
        NetDevice.ValidateName(interfaceName);
        var index = NetDevice.InterfaceIndex(interfaceName)
            ?? throw new InteropException($"attach {interfaceName}", Errno.ENODEV, "no such interface in this network namespace");
        // Like qemu-ifup for a bridge: a VM's TAP is down until someone brings it up. Before the bind: a packet socket
        // bound to an interface that is down keeps ENETDOWN pending, and its first read would fail the port.
        NetDevice.BringUp(interfaceName);
        var fd = LibC.socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, EthPAllNetworkOrder);
        if (fd < 0)
        {
            throw new InteropException($"socket(AF_PACKET) for {interfaceName}", LibC.errno, "run as root or grant CAP_NET_RAW");
        }

        try
        {
            SetOption(fd, PACKET_VNET_HDR, 1, "PACKET_VNET_HDR", interfaceName);
            SetOption(fd, PACKET_AUXDATA, 1, "PACKET_AUXDATA", interfaceName);

            // Linux 4.20+; older kernels are handled by the packet type check in Receive.
            var ignoreOutgoing = 1;
            _ = LibC.setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &ignoreOutgoing, sizeof(int));

            var address = default(SockAddrLl);
            address.Family = AF_PACKET;
            address.Protocol = EthPAllNetworkOrder;
            address.InterfaceIndex = index;
            if (LibC.bind(fd, (sockaddr*)&address, sizeof(SockAddrLl)) < 0)
            {
                throw new InteropException($"bind AF_PACKET {interfaceName}", LibC.errno);
            }

            var membership = default(PacketMreq);
            membership.InterfaceIndex = index;
            membership.Type = PACKET_MR_PROMISC;
            if (LibC.setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &membership, sizeof(PacketMreq)) < 0)
            {
                throw new InteropException($"PACKET_ADD_MEMBERSHIP (promiscuous) {interfaceName}", LibC.errno);
            }

            return new PacketSocketPort(portName ?? interfaceName, interfaceName, fd);
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

    public void Wake() => _waiter.Wake();

    public bool Send(ReadOnlySpan<byte> frame) => Send(frame, VirtioNetHeader.None);

    public bool Send(ReadOnlySpan<byte> frame, in VirtioNetHeader offload)
    {
        var header = stackalloc byte[VirtioNetHeader.Size];
        offload.Write(new Span<byte>(header, VirtioNetHeader.Size));
        fixed (byte* data = frame)
        {
            var iov = stackalloc IoVec[2];
            iov[0].Base = header;
            iov[0].Length = VirtioNetHeader.Size;
            iov[1].Base = data;
            iov[1].Length = (nuint)frame.Length;
            var message = default(MsgHdr);
            message.Iov = iov;
            message.IovLength = 2;

            // Never blocks: a full socket buffer (ENOBUFS/EAGAIN) or a link that is down refuses the frame,
            // which the engine counts as a tx error on this port.
            return LibC.sendmsg(_fd, (msghdr*)&message, MSG_DONTWAIT) == VirtioNetHeader.Size + frame.Length;
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
    }

    private static void SetOption(int fd, int option, int value, string name, string interfaceName)
    {
        if (LibC.setsockopt(fd, SOL_PACKET, option, &value, sizeof(int)) < 0)
        {
            throw new InteropException($"{name} {interfaceName}", LibC.errno);
        }
    }

    /// <summary>Reads one frame, skipping our own transmissions (kernels before 4.20 still deliver them).</summary>
    int IFrameSource.ReadOne(PacketBuffer buffer)
    {
        var from = default(SockAddrLl);
        var iov = stackalloc IoVec[2];
        long length;
        fixed (byte* header = _rxHeader)
        fixed (byte* control = _control)
        fixed (byte* data = buffer.Array)
        {
            iov[0].Base = header;
            iov[0].Length = VirtioNetHeader.Size;
            iov[1].Base = data + TagRoom;
            iov[1].Length = (nuint)(buffer.Array.Length - TagRoom);
            var message = default(MsgHdr);
            message.Name = &from;
            message.NameLength = sizeof(SockAddrLl);
            message.Iov = iov;
            message.IovLength = 2;
            message.Control = control;
            message.ControlLength = ControlBufferSize;
            length = LibC.recvmsg(_fd, (msghdr*)&message, 0);
            if (length < 0)
            {
                return BatchReceiver.Failed(LibC.errno, "recvmsg", Interface, Name);
            }

            if (from.PacketType == PACKET_OUTGOING || length < VirtioNetHeader.Size)
            {
                return BatchReceiver.Skipped;
            }

            var offload = VirtioNetHeader.Read(_rxHeader);
            var frameLength = (int)length - VirtioNetHeader.Size;
            var auxdata = FindAuxdata(control, message.ControlLength);
            if (auxdata is not null && (auxdata->Status & TP_STATUS_VLAN_VALID) != 0 && frameLength >= 12)
            {
                // Put the stripped tag back: move the two addresses 4 bytes down and write TPID and TCI.
                new Span<byte>(data + TagRoom, 12).CopyTo(new Span<byte>(data, 12));
                var tpid = (auxdata->Status & TP_STATUS_VLAN_TPID_VALID) != 0 ? auxdata->VlanTpid : EthernetFrame.EtherTypeVlan;
                BinaryPrimitives.WriteUInt16BigEndian(new Span<byte>(data + 12, 2), tpid);
                BinaryPrimitives.WriteUInt16BigEndian(new Span<byte>(data + 14, 2), auxdata->VlanTci);
                buffer.Offset = 0;
                buffer.Length = frameLength + TagRoom;
                buffer.Offload = ShiftForTag(offload);
            }
            else
            {
                buffer.Offset = TagRoom;
                buffer.Length = frameLength;
                buffer.Offload = offload;
            }

            return BatchReceiver.Read;
        }
    }

    /// <summary>The kernel counts offsets in the untagged frame; the frame we pass on carries the tag again.</summary>
    private static VirtioNetHeader ShiftForTag(in VirtioNetHeader offload) => offload.NeedsChecksum || offload.IsGso
        ? offload with
        {
            ChecksumStart = (ushort)(offload.ChecksumStart + TagRoom),
            HeaderLength = offload.HeaderLength == 0 ? (ushort)0 : (ushort)(offload.HeaderLength + TagRoom),
        }
        : offload;

    private static TpacketAuxdata* FindAuxdata(byte* control, nuint controlLength)
    {
        var offset = 0;
        while (offset + sizeof(CmsgHdr) <= (int)controlLength)
        {
            var cmsg = (CmsgHdr*)(control + offset);
            if (cmsg->Length < (nuint)sizeof(CmsgHdr))
            {
                return null;
            }

            if (cmsg->Level == SOL_PACKET && cmsg->Type == PACKET_AUXDATA && cmsg->Length >= (nuint)(sizeof(CmsgHdr) + sizeof(TpacketAuxdata)))
            {
                return (TpacketAuxdata*)(control + offset + sizeof(CmsgHdr));
            }

            offset += (int)((cmsg->Length + 7) & ~(nuint)7);
        }

        return null;
    }

    void IFrameSource.OnPollError(int revents)
    {
        var error = 0;
        var size = sizeof(int);
        const int SOL_SOCKET = 1;
        const int SO_ERROR = 4;
        _ = LibC.getsockopt(_fd, SOL_SOCKET, SO_ERROR, &error, (socklen_t*)&size);
        throw new InteropException($"packet socket on {Interface} (port {Name})", error == 0 ? Errno.ENODEV : error, "the interface went away").ToPortException();
    }
}
