using System.Buffers.Binary;

namespace UserBridge.Core.Frames;

/// <summary>
/// A read-only view of an Ethernet II frame: no copy, no allocation. The caller checks
/// <see cref="IsValid"/> (at least the 14-byte header) before reading fields.
/// </summary>
public readonly ref struct EthernetFrame
{
    public const int HeaderLength = 14;
    public const int VlanTagLength = 4;
    public const ushort EtherTypeVlan = 0x8100;
    public const ushort EtherTypeQinQ = 0x88A8;

    /// <summary>VID 4095, reserved by 802.1Q: never a VLAN of the switch.</summary>
    public const int ReservedVid = 4095;

    private readonly ReadOnlySpan<byte> _bytes;

    public EthernetFrame(ReadOnlySpan<byte> bytes) => _bytes = bytes;

    public int Length => _bytes.Length;

    public bool IsValid => _bytes.Length >= HeaderLength;

    public MacAddress Destination => MacAddress.Read(_bytes);

    public MacAddress Source => MacAddress.Read(_bytes[6..]);

    /// <summary>The first EtherType/TPID field (offset 12).</summary>
    public ushort EtherType => BinaryPrimitives.ReadUInt16BigEndian(_bytes[12..]);

    /// <summary>True when an 802.1Q (or 802.1ad) tag follows the source address and is complete.</summary>
    public bool HasVlanTag => EtherType is EtherTypeVlan or EtherTypeQinQ && _bytes.Length >= HeaderLength + VlanTagLength;

    /// <summary>True when the EtherType announces an 802.1Q or 802.1ad tag that the frame is too short to hold.</summary>
    public bool HasTruncatedTag => EtherType is EtherTypeVlan or EtherTypeQinQ && _bytes.Length < HeaderLength + VlanTagLength;

    /// <summary>The VLAN ID of the outer tag (0 when untagged or priority-tagged).</summary>
    public ushort VlanId => HasVlanTag ? (ushort)(BinaryPrimitives.ReadUInt16BigEndian(_bytes[14..]) & 0x0FFF) : (ushort)0;

    public ReadOnlySpan<byte> Bytes => _bytes;
}
