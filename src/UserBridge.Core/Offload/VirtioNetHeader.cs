using System.Buffers.Binary;

namespace UserBridge.Core.Offload;

/// <summary>
/// <c>struct virtio_net_hdr</c> from <c>linux/virtio_net.h</c>: the 10 bytes a TAP opened with
/// <c>IFF_VNET_HDR</c>, or an AF_PACKET socket with <c>PACKET_VNET_HDR</c>, puts in front of every frame to
/// say which work its sender left undone (a checksum to finish, a 64 KiB frame to cut into segments).
/// </summary>
/// <remarks>
/// The legacy header is in the byte order of the machine unless <c>TUNSETVNETBE</c>/<c>TUNSETVNETLE</c> says
/// otherwise, and virtio 1.0 made it little-endian for good: on the x86-64 and arm64 hosts we run on it is
/// little-endian either way, so it is read and written as such. A TAP configured with
/// <c>TUNSETVNETHDRSZ</c> = 12 appends <c>num_buffers</c> (<c>virtio_net_hdr_mrg_rxbuf</c>); tun ignores it on
/// transmit and we ignore it on receive: pass the first <see cref="Size"/> bytes here.
/// All lengths and offsets are in bytes; <see cref="ChecksumStart"/> and <see cref="HeaderLength"/> count from
/// the first byte of the Ethernet header.
/// </remarks>
/// <param name="Flags"><see cref="FlagNeedsChecksum"/>, <see cref="FlagDataValid"/>.</param>
/// <param name="GsoType">One of the <c>Gso*</c> kinds, possibly with <see cref="GsoEcn"/>.</param>
/// <param name="HeaderLength"><c>hdr_len</c>: Ethernet + IP + TCP/UDP header bytes. A hint only when it comes from a guest.</param>
/// <param name="GsoSize"><c>gso_size</c>: the payload bytes (the MSS) each segment carries, headers excluded.</param>
/// <param name="ChecksumStart"><c>csum_start</c>: where the checksummed region (the TCP/UDP header) begins.</param>
/// <param name="ChecksumOffset"><c>csum_offset</c>: where the checksum field lies, counted from <paramref name="ChecksumStart"/>.</param>
public readonly record struct VirtioNetHeader(
    byte Flags,
    byte GsoType,
    ushort HeaderLength,
    ushort GsoSize,
    ushort ChecksumStart,
    ushort ChecksumOffset)
{
    public const int Size = 10;

    /// <summary>CHECKSUM_PARTIAL: the field at start + offset holds the pseudo-header sum; the rest is ours to add.</summary>
    public const byte FlagNeedsChecksum = 1;

    /// <summary>The checksum has been verified already (CHECKSUM_UNNECESSARY): nothing to do when forwarding.</summary>
    public const byte FlagDataValid = 2;

    public const byte GsoNone = 0;
    public const byte GsoTcpV4 = 1;

    /// <summary>UFO: one UDP datagram to be cut into IP fragments.</summary>
    public const byte GsoUdp = 3;

    public const byte GsoTcpV6 = 4;

    /// <summary>USO: a run of UDP datagrams of <see cref="GsoSize"/> payload bytes each, sharing one header.</summary>
    public const byte GsoUdpL4 = 5;

    /// <summary>Or-ed into <see cref="GsoType"/> when the TCP header has CWR set (SKB_GSO_TCP_ECN).</summary>
    public const byte GsoEcn = 0x80;

    /// <summary>A frame with nothing left to do: no checksum to finish, no segmentation.</summary>
    public static VirtioNetHeader None => default;

    public bool NeedsChecksum => (Flags & FlagNeedsChecksum) != 0;

    /// <summary>True when <see cref="GsoType"/> asks for segmentation (of a supported kind or not).</summary>
    public bool IsGso => GsoType != GsoNone;

    /// <summary>The segmentation kind without the <see cref="GsoEcn"/> bit.</summary>
    public byte GsoKind => (byte)(GsoType & ~GsoEcn);

    /// <summary>Reads the first <see cref="Size"/> bytes; the caller has checked there are that many.</summary>
    public static VirtioNetHeader Read(ReadOnlySpan<byte> source) => new(
        source[0],
        source[1],
        BinaryPrimitives.ReadUInt16LittleEndian(source[2..]),
        BinaryPrimitives.ReadUInt16LittleEndian(source[4..]),
        BinaryPrimitives.ReadUInt16LittleEndian(source[6..]),
        BinaryPrimitives.ReadUInt16LittleEndian(source[8..]));

    /// <summary>Writes <see cref="Size"/> bytes; the caller has checked there is room.</summary>
    public void Write(Span<byte> destination)
    {
        destination[0] = Flags;
        destination[1] = GsoType;
        BinaryPrimitives.WriteUInt16LittleEndian(destination[2..], HeaderLength);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[4..], GsoSize);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[6..], ChecksumStart);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[8..], ChecksumOffset);
    }
}
