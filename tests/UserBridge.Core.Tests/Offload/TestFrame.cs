using UserBridge.Core.Offload;

namespace UserBridge.Core.Tests.Offload;

/// <summary>A frame built by <see cref="TestFrames"/> and where its headers are.</summary>
internal sealed record TestFrame(byte[] Bytes, int L3Offset, int L4Offset, int PayloadOffset, bool IsIpv6, byte Protocol)
{
    public int PayloadLength => Bytes.Length - PayloadOffset;

    public bool IsTcp => Protocol == TestFrames.ProtocolTcp;

    /// <summary>Where the TCP/UDP checksum field is, counted from the transport header.</summary>
    public int ChecksumOffset => IsTcp ? 16 : 6;

    public ReadOnlySpan<byte> Payload => Bytes.AsSpan(PayloadOffset);

    /// <summary>The header a Linux guest sends with a GSO frame: NEEDS_CSUM, exact hdr_len and csum_start.</summary>
    public VirtioNetHeader GsoHeader(byte gsoType, ushort gsoSize) => new(
        VirtioNetHeader.FlagNeedsChecksum, gsoType, (ushort)PayloadOffset, gsoSize, (ushort)L4Offset, (ushort)ChecksumOffset);

    /// <summary>The header of a frame whose only unfinished work is its transport checksum.</summary>
    public VirtioNetHeader PartialChecksumHeader() => new(
        VirtioNetHeader.FlagNeedsChecksum, VirtioNetHeader.GsoNone, (ushort)PayloadOffset, 0, (ushort)L4Offset, (ushort)ChecksumOffset);
}
