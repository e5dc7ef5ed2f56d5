using System.Runtime.InteropServices;

namespace UserBridge.Linux.Ports.Packet;

/// <summary>
/// AF_PACKET constants and structures of <c>linux/if_packet.h</c> and <c>sys/socket.h</c> (x86-64 layouts),
/// which Tmds.LibC does not declare. Their sizes are asserted in the tests.
/// </summary>
internal static class PacketInterop
{
    public const int AF_PACKET = 17;
    public const int SOCK_RAW = 3;
    public const int SOCK_NONBLOCK = 0x800;
    public const int SOCK_CLOEXEC = 0x80000;
    public const int SOL_PACKET = 263;
    public const int PACKET_ADD_MEMBERSHIP = 1;
    public const int PACKET_AUXDATA = 8;
    public const int PACKET_VNET_HDR = 15;
    public const int PACKET_IGNORE_OUTGOING = 23;
    public const ushort PACKET_MR_PROMISC = 1;
    public const byte PACKET_OUTGOING = 4;
    public const uint TP_STATUS_VLAN_VALID = 0x10;
    public const uint TP_STATUS_VLAN_TPID_VALID = 0x40;
    public const int MSG_DONTWAIT = 0x40;
    public const int MSG_TRUNC = 0x20;

    /// <summary>ETH_P_ALL in network byte order, as socket() and bind() want it.</summary>
    public const ushort EthPAllNetworkOrder = 0x0300;

    [StructLayout(LayoutKind.Sequential)]
    public unsafe struct SockAddrLl
    {
        public ushort Family;
        public ushort Protocol;
        public int InterfaceIndex;
        public ushort HardwareType;
        public byte PacketType;
        public byte AddressLength;
        public fixed byte Address[8];
    }

    [StructLayout(LayoutKind.Sequential)]
    public unsafe struct PacketMreq
    {
        public int InterfaceIndex;
        public ushort Type;
        public ushort AddressLength;
        public fixed byte Address[8];
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct TpacketAuxdata
    {
        public uint Status;
        public uint Length;
        public uint SnapLength;
        public ushort MacOffset;
        public ushort NetworkOffset;
        public ushort VlanTci;
        public ushort VlanTpid;
    }

    /// <summary><c>struct cmsghdr</c>: its data follows at offset 16.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct CmsgHdr
    {
        public nuint Length;
        public int Level;
        public int Type;
    }
}
