using UserBridge.Core.Offload;

namespace UserBridge.Core.Tests.Offload;

public sealed class VirtioNetHeaderTests
{
    [Fact]
    public void ConstantsAreThoseOfLinuxVirtioNetH()
    {
        Assert.Equal(10, VirtioNetHeader.Size);
        Assert.Equal(1, VirtioNetHeader.FlagNeedsChecksum);
        Assert.Equal(2, VirtioNetHeader.FlagDataValid);
        Assert.Equal(0, VirtioNetHeader.GsoNone);
        Assert.Equal(1, VirtioNetHeader.GsoTcpV4);
        Assert.Equal(3, VirtioNetHeader.GsoUdp);
        Assert.Equal(4, VirtioNetHeader.GsoTcpV6);
        Assert.Equal(5, VirtioNetHeader.GsoUdpL4);
        Assert.Equal(0x80, VirtioNetHeader.GsoEcn);
    }

    [Fact]
    public void ReadsAndWritesTheLittleEndianLayoutOfStructVirtioNetHdr()
    {
        // NEEDS_CSUM, TCPv4 + ECN, hdr_len 66, gso_size 1448, csum_start 34, csum_offset 16, then a byte that
        // is not part of the header.
        byte[] bytes = [0x01, 0x81, 0x42, 0x00, 0xA8, 0x05, 0x22, 0x00, 0x10, 0x00, 0xEE];

        var header = VirtioNetHeader.Read(bytes);

        Assert.Equal(new VirtioNetHeader(VirtioNetHeader.FlagNeedsChecksum, 0x81, 66, 1448, 34, 16), header);
        Assert.True(header.NeedsChecksum);
        Assert.True(header.IsGso);
        Assert.Equal(VirtioNetHeader.GsoTcpV4, header.GsoKind);

        var written = new byte[11];
        written[10] = 0xEE;
        header.Write(written);
        Assert.Equal(bytes, written);
    }

    [Fact]
    public void NoneAsksForNoWork()
    {
        var none = VirtioNetHeader.None;

        Assert.False(none.NeedsChecksum);
        Assert.False(none.IsGso);
        Assert.Equal(VirtioNetHeader.GsoNone, none.GsoKind);
        Assert.Equal(none, VirtioNetHeader.Read(new byte[VirtioNetHeader.Size]));
    }

    [Fact]
    public void DataValidAloneNeedsNoChecksum()
    {
        var header = new VirtioNetHeader(VirtioNetHeader.FlagDataValid, VirtioNetHeader.GsoNone, 0, 0, 0, 0);

        Assert.False(header.NeedsChecksum);
        Assert.False(header.IsGso);
    }
}
