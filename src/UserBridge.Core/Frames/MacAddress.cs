using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace UserBridge.Core.Frames;

/// <summary>
/// A 48-bit Ethernet address held in the low 48 bits of a <see cref="ulong"/>, first octet highest, so that
/// the MAC table can build its key as <c>mac | vid &lt;&lt; 48</c> without any copying.
/// </summary>
public readonly record struct MacAddress(ulong Value)
{
    public const int Length = 6;
    private const ulong Mask = 0xFFFF_FFFF_FFFFUL;

    public static MacAddress Broadcast { get; } = new(Mask);

    /// <summary>True for group addresses (the I/G bit, the lowest bit of the first octet), broadcast included.</summary>
    public bool IsMulticast => (Value & 0x0100_0000_0000UL) != 0;

    public bool IsBroadcast => Value == Mask;

    public bool IsZero => Value == 0;

    /// <summary>
    /// 01:80:C2:00:00:00 to 0F, the IEEE 802.1 link-local group (STP, LACP, LLDP, 802.1X...): frames a bridge
    /// consumes or drops and never forwards.
    /// </summary>
    public bool IsLinkLocal => (Value & ~0xFUL) == 0x0180_C200_0000UL;

    /// <summary>01:80:C2:00:00:00, where spanning-tree BPDUs go.</summary>
    public bool IsBpduGroup => Value == 0x0180_C200_0000UL;

    public static MacAddress Read(ReadOnlySpan<byte> sixOctets) =>
        new(((ulong)BinaryPrimitives.ReadUInt16BigEndian(sixOctets) << 32) | BinaryPrimitives.ReadUInt32BigEndian(sixOctets[2..]));

    public void Write(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt16BigEndian(destination, (ushort)(Value >> 32));
        BinaryPrimitives.WriteUInt32BigEndian(destination[2..], (uint)Value);
    }

    public static MacAddress Parse(string text) =>
        TryParse(text, out var mac) ? mac : throw new FormatException($"'{text}' is not a MAC address (expected aa:bb:cc:dd:ee:ff)");

    public static bool TryParse([NotNullWhen(true)] string? text, out MacAddress mac)
    {
        mac = default;
        if (text is null || text.Length != 17)
        {
            return false;
        }

        ulong value = 0;
        for (var i = 0; i < 6; i++)
        {
            if (i > 0 && text[(i * 3) - 1] is not (':' or '-'))
            {
                return false;
            }

            if (!byte.TryParse(text.AsSpan(i * 3, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var octet))
            {
                return false;
            }

            value = (value << 8) | octet;
        }

        mac = new MacAddress(value);
        return true;
    }

    public override string ToString() => string.Create(17, Value, static (chars, value) =>
    {
        for (var i = 0; i < 6; i++)
        {
            var octet = (byte)(value >> (40 - (8 * i)));
            chars[i * 3] = HexDigit(octet >> 4);
            chars[(i * 3) + 1] = HexDigit(octet & 0xF);
            if (i < 5)
            {
                chars[(i * 3) + 2] = ':';
            }
        }
    });

    private static char HexDigit(int nibble) => (char)(nibble < 10 ? '0' + nibble : 'a' + nibble - 10);
}
