using System.Buffers.Binary;
using CsCheck;
using UserBridge.Core.Frames;
using UserBridge.Linux.Ports.Overlay;
using UserBridge.Tests.Shared;

namespace UserBridge.Linux.Tests.Overlay;

public sealed class OverlayHeaderTests
{
    private const uint Vni = 0x12_3456;
    private const int InnerLength = 60;

    [Theory]
    [InlineData(OverlayProtocol.Vxlan)]
    [InlineData(OverlayProtocol.Geneve)]
    public void WhatTheSwitchWritesItReadsBack(OverlayProtocol protocol)
    {
        var payload = Payload(protocol, Vni);

        Assert.Equal(OverlayStatus.Frame, OverlayHeader.Read(protocol, payload, out var vni, out var offset));
        Assert.Equal(Vni, vni);
        Assert.Equal(OverlayHeader.Length, offset);
    }

    [Fact]
    public void VxlanIsWrittenAsRfc7348ShowsIt()
    {
        var header = new byte[OverlayHeader.Length];
        OverlayHeader.Write(OverlayProtocol.Vxlan, header, Vni);

        Assert.Equal("0800000012345600", Convert.ToHexString(header));
    }

    [Fact]
    public void GeneveIsWrittenAsRfc8926ShowsItWithoutOptions()
    {
        var header = new byte[OverlayHeader.Length];
        OverlayHeader.Write(OverlayProtocol.Geneve, header, Vni);

        Assert.Equal("0000655812345600", Convert.ToHexString(header));
    }

    [Fact]
    public void AVniPastTwentyFourBitsIsRefused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => OverlayHeader.Write(OverlayProtocol.Vxlan, new byte[OverlayHeader.Length], OverlayHeader.MaxVni + 1));

    [Theory]
    [InlineData(OverlayProtocol.Vxlan, 0)]
    [InlineData(OverlayProtocol.Vxlan, OverlayHeader.Length + 13)]
    [InlineData(OverlayProtocol.Geneve, 7)]
    [InlineData(OverlayProtocol.Geneve, OverlayHeader.Length + 13)]
    public void APayloadWithoutRoomForAnEthernetHeaderIsTooShort(OverlayProtocol protocol, int length) =>
        Assert.Equal(OverlayStatus.TooShort, OverlayHeader.Read(protocol, Payload(protocol, Vni).AsSpan(0, length), out _, out _));

    [Fact]
    public void VxlanWithoutTheIFlagHasBadFlags()
    {
        var payload = Payload(OverlayProtocol.Vxlan, Vni);
        payload[0] = 0x00;

        Assert.Equal(OverlayStatus.BadFlags, OverlayHeader.Read(OverlayProtocol.Vxlan, payload, out _, out _));
    }

    [Fact]
    public void VxlanReservedBitsAreIgnoredOnReceipt()
    {
        var payload = Payload(OverlayProtocol.Vxlan, Vni);
        payload[0] = 0xFF;
        payload[1] = 0xFF;
        payload[7] = 0xFF;

        Assert.Equal(OverlayStatus.Frame, OverlayHeader.Read(OverlayProtocol.Vxlan, payload, out var vni, out _));
        Assert.Equal(Vni, vni);
    }

    [Theory]
    [InlineData(0x40, 0x00, 0x6558, OverlayStatus.BadVersion)]
    [InlineData(0xC0, 0x00, 0x6558, OverlayStatus.BadVersion)]
    [InlineData(0x00, 0x80, 0x6558, OverlayStatus.Control)]
    [InlineData(0x00, 0x40, 0x6558, OverlayStatus.CriticalOption)]
    [InlineData(0x00, 0x00, 0x0800, OverlayStatus.NotEthernet)]
    [InlineData(0x00, 0x3F, 0x6558, OverlayStatus.Frame)]
    public void GeneveHeaderFieldsDecide(byte first, byte second, ushort protocolType, OverlayStatus expected)
    {
        var payload = Payload(OverlayProtocol.Geneve, Vni);
        payload[0] = first;
        payload[1] = second;
        BinaryPrimitives.WriteUInt16BigEndian(payload.AsSpan(2), protocolType);

        Assert.Equal(expected, OverlayHeader.Read(OverlayProtocol.Geneve, payload, out _, out _));
    }

    [Fact]
    public void GeneveOptionsAreSkipped()
    {
        // Two options: a 4-byte one (class 0x0102, type 3) and one with 8 bytes of data (type 0x7F, not critical).
        var payload = Geneve([0x01, 0x02, 0x03, 0x00], [0xFF, 0xFF, 0x7F, 0x02, 1, 2, 3, 4, 5, 6, 7, 8]);

        Assert.Equal(OverlayStatus.Frame, OverlayHeader.Read(OverlayProtocol.Geneve, payload, out var vni, out var offset));
        Assert.Equal(Vni, vni);
        Assert.Equal(OverlayHeader.Length + 16, offset);
        Assert.Equal(0xAA, payload[offset]);
    }

    [Fact]
    public void AGeneveOptionLongerThanTheOptionsHasABadLength() =>
        Assert.Equal(OverlayStatus.BadOptionLength, OverlayHeader.Read(OverlayProtocol.Geneve, Geneve([0x01, 0x02, 0x03, 0x02, 1, 2, 3, 4]), out _, out _));

    [Fact]
    public void ACriticalGeneveOptionDropsThePacketEvenWithoutTheCBit() =>
        Assert.Equal(OverlayStatus.CriticalOption, OverlayHeader.Read(OverlayProtocol.Geneve, Geneve([0x01, 0x02, 0x83, 0x00]), out _, out _));

    [Fact]
    public void GeneveOptionsPastTheEndOfThePacketAreTooShort()
    {
        var payload = Payload(OverlayProtocol.Geneve, Vni);
        payload[0] = 0x3F;

        Assert.Equal(OverlayStatus.TooShort, OverlayHeader.Read(OverlayProtocol.Geneve, payload, out _, out _));
    }

    [Fact]
    public void TheOverheadIsFiftyBytesOverIpv4AndSeventyOverIpv6()
    {
        Assert.Equal(50, OverlayHeader.Overhead(ipv6: false));
        Assert.Equal(70, OverlayHeader.Overhead(ipv6: true));
    }

    [Fact]
    public void AnyPayloadIsReadWithoutThrowingAndAFrameIsAlwaysWhole()
    {
        var (iterations, seconds) = FuzzBudget.Current;
        Gen.Select(Gen.Bool, Gen.Byte.Array[0, 120]).Sample(
            static (geneve, payload) =>
            {
                var protocol = geneve ? OverlayProtocol.Geneve : OverlayProtocol.Vxlan;
                var status = OverlayHeader.Read(protocol, payload, out var vni, out var offset);
                return vni <= OverlayHeader.MaxVni
                    && (status != OverlayStatus.Frame || (offset >= OverlayHeader.Length && offset + EthernetFrame.HeaderLength <= payload.Length));
            },
            writeLine: FuzzBudget.Report,
            iter: iterations,
            time: seconds,
            print: static input => $"{(input.Item1 ? "geneve" : "vxlan")} {Convert.ToHexString(input.Item2)}");
    }

    /// <summary>A header for <paramref name="vni"/> and a 60-byte inner frame whose first byte is 0xAA.</summary>
    private static byte[] Payload(OverlayProtocol protocol, uint vni)
    {
        var payload = new byte[OverlayHeader.Length + InnerLength];
        OverlayHeader.Write(protocol, payload, vni);
        payload[OverlayHeader.Length] = 0xAA;
        return payload;
    }

    /// <summary>A Geneve packet with <paramref name="options"/> (laid end to end; OptLen counts them) before the inner frame.</summary>
    private static byte[] Geneve(params byte[][] options)
    {
        var optionBytes = options.SelectMany(option => option).ToArray();
        var payload = new byte[OverlayHeader.Length + optionBytes.Length + InnerLength];
        OverlayHeader.Write(OverlayProtocol.Geneve, payload, Vni);
        payload[0] = (byte)(optionBytes.Length / 4);
        optionBytes.CopyTo(payload, OverlayHeader.Length);
        payload[OverlayHeader.Length + optionBytes.Length] = 0xAA;
        return payload;
    }
}
