using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace UserBridge.Core.Offload;

/// <summary>
/// The Internet checksum (RFC 1071): the ones'-complement sum of big-endian 16-bit words, complemented.
/// Sums are passed around folded to 16 bits and not complemented, which is also what a CHECKSUM_PARTIAL
/// frame carries in its checksum field (the pseudo-header sum), so a sum can be continued by passing it as
/// <c>initialSum</c>.
/// </summary>
/// <remarks>
/// Continuing a sum over several spans is exact only when every span but the last has an even length: an odd
/// span would shift the following bytes into the other half of their words.
/// </remarks>
public static class InternetChecksum
{
    public const byte ProtocolTcp = 6;
    public const byte ProtocolUdp = 17;

    private const int Ipv4AddressLength = 4;
    private const int Ipv6AddressLength = 16;

    /// <summary>The ones'-complement sum of <paramref name="data"/> and <paramref name="initialSum"/>, folded, not complemented.</summary>
    public static ushort Sum(ReadOnlySpan<byte> data, ushort initialSum = 0)
    {
        // RFC 1071 §2(B): the sum is independent of byte order up to a final swap, so the words are read in
        // the machine's order (no per-word swap) and only the 16-bit result is turned around. The same
        // holds for the width: a 64-bit word read whole is, modulo 0xFFFF, the sum of its four 16-bit words.
        ulong sum = BitConverter.IsLittleEndian ? BinaryPrimitives.ReverseEndianness(initialSum) : initialSum;
        ulong sum2 = 0;

        // Each 64-bit word is added as its two 32-bit halves, so no carry is ever lost: an accumulator grows
        // by less than 2^33 per word and a span (under 2^31 bytes) cannot overflow it. Two accumulators let
        // the additions of consecutive words run in parallel.
        var words = MemoryMarshal.Cast<byte, ulong>(data);
        var index = 0;
        for (; index + 1 < words.Length; index += 2)
        {
            var first = words[index];
            var second = words[index + 1];
            sum += (uint)first + (first >> 32);
            sum2 += (uint)second + (second >> 32);
        }

        if (index < words.Length)
        {
            var last = words[index];
            sum += (uint)last + (last >> 32);
        }

        sum += sum2;
        var tail = data[(words.Length * sizeof(ulong))..];
        if (tail.Length >= sizeof(uint))
        {
            sum += MemoryMarshal.Read<uint>(tail);
            tail = tail[sizeof(uint)..];
        }

        if (tail.Length >= sizeof(ushort))
        {
            sum += MemoryMarshal.Read<ushort>(tail);
            tail = tail[sizeof(ushort)..];
        }

        if (!tail.IsEmpty)
        {
            // An odd last byte is the high half of a word padded with zero, which is the low half of a
            // word read in little-endian order.
            sum += BitConverter.IsLittleEndian ? tail[0] : (ulong)tail[0] << 8;
        }

        var folded = Fold(sum);
        return BitConverter.IsLittleEndian ? BinaryPrimitives.ReverseEndianness(folded) : folded;
    }

    /// <summary>The checksum to store: the complement of <see cref="Sum"/> (e.g. an IPv4 header with its field zeroed).</summary>
    public static ushort Compute(ReadOnlySpan<byte> data, ushort initialSum = 0) => (ushort)~Sum(data, initialSum);

    /// <summary>
    /// The checksum a TCP or UDP header carries, over <paramref name="transport"/> (header, field zeroed or
    /// holding a partial sum, and payload) continued from <paramref name="pseudoHeaderSum"/>.
    /// </summary>
    /// <remarks>
    /// A computed 0 is stored as 0xFFFF, as the kernel's <c>skb_checksum_help</c> does (CSUM_MANGLED_0): for UDP
    /// a 0 means "no checksum" (and is forbidden over IPv6); for TCP both are the same ones'-complement zero.
    /// </remarks>
    public static ushort ComputeTransport(ReadOnlySpan<byte> transport, ushort pseudoHeaderSum)
    {
        var checksum = Compute(transport, pseudoHeaderSum);
        return checksum == 0 ? ushort.MaxValue : checksum;
    }

    /// <summary>The ones'-complement sum of two folded sums.</summary>
    public static ushort Add(ushort left, ushort right) => Fold((ulong)left + right);

    /// <summary>
    /// The sum of the IPv4 pseudo-header (RFC 793/768): source and destination address (the first 4 bytes of
    /// each span), zero, protocol, and the TCP/UDP length in bytes (header and payload).
    /// </summary>
    public static ushort PseudoHeaderSumIpv4(ReadOnlySpan<byte> sourceAddress, ReadOnlySpan<byte> destinationAddress, byte protocol, int transportLength)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(sourceAddress.Length, Ipv4AddressLength);
        ArgumentOutOfRangeException.ThrowIfLessThan(destinationAddress.Length, Ipv4AddressLength);
        ulong sum = (ulong)BinaryPrimitives.ReadUInt32BigEndian(sourceAddress)
            + BinaryPrimitives.ReadUInt32BigEndian(destinationAddress)
            + protocol
            + (uint)transportLength;
        return Fold(sum);
    }

    /// <summary>
    /// The sum of the IPv6 pseudo-header (RFC 8200 §8.1): source and destination address (the first 16 bytes
    /// of each span), the 32-bit upper-layer length in bytes, and the next-header value.
    /// </summary>
    public static ushort PseudoHeaderSumIpv6(ReadOnlySpan<byte> sourceAddress, ReadOnlySpan<byte> destinationAddress, byte protocol, int transportLength)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(sourceAddress.Length, Ipv6AddressLength);
        ArgumentOutOfRangeException.ThrowIfLessThan(destinationAddress.Length, Ipv6AddressLength);
        ulong sum = protocol + (ulong)(uint)transportLength;
        for (var offset = 0; offset < Ipv6AddressLength; offset += sizeof(uint))
        {
            sum += BinaryPrimitives.ReadUInt32BigEndian(sourceAddress[offset..]);
            sum += BinaryPrimitives.ReadUInt32BigEndian(destinationAddress[offset..]);
        }

        return Fold(sum);
    }

    /// <summary>
    /// Finishes a CHECKSUM_PARTIAL frame as the kernel's <c>skb_checksum_help</c> does: the 16-bit field at
    /// <paramref name="checksumStart"/> + <paramref name="checksumOffset"/> already holds the pseudo-header
    /// sum; sum from <paramref name="checksumStart"/> to the end of <paramref name="frame"/> (that field
    /// included) and store the complement there (0 as 0xFFFF).
    /// </summary>
    /// <returns>False, with the frame untouched, when the field is not inside the frame or sits at an odd offset.</returns>
    public static bool CompletePartial(Span<byte> frame, int checksumStart, int checksumOffset)
    {
        // An odd offset would put the field across two words of the sum: no protocol does that (TCP 16,
        // UDP 6, ICMP 2), so such a header is garbage rather than something to honour.
        if (checksumStart < 0 || checksumOffset < 0 || (checksumOffset & 1) != 0
            || checksumStart > frame.Length - sizeof(ushort) - checksumOffset)
        {
            return false;
        }

        var checksum = ComputeTransport(frame[checksumStart..], 0);
        BinaryPrimitives.WriteUInt16BigEndian(frame[(checksumStart + checksumOffset)..], checksum);
        return true;
    }

    /// <summary>Folds a 64-bit ones'-complement accumulation to 16 bits, end-around carries included.</summary>
    private static ushort Fold(ulong sum)
    {
        var high = (uint)(sum >> 32);
        var folded = (uint)sum + high;
        if (folded < high)
        {
            folded++;
        }

        folded = (folded & 0xFFFF) + (folded >> 16);
        folded = (folded & 0xFFFF) + (folded >> 16);
        return (ushort)folded;
    }
}
