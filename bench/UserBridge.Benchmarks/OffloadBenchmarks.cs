using System.Buffers.Binary;
using BenchmarkDotNet.Attributes;
using UserBridge.Core.Frames;
using UserBridge.Core.Offload;

namespace UserBridge.Benchmarks;

/// <summary>
/// The software offloads a port without vnet header support costs: cutting one 64 KiB TCP/IPv4 GSO frame
/// (gso_size 1448, 46 segments) into a sink that only counts, the checksum of 1500 bytes (an MTU-sized IP
/// packet), and finishing the partial checksum of a full-size TCP/IPv4 frame (1514 bytes, 1480 of them
/// summed). All three must show 0 B allocated.
/// </summary>
[MemoryDiagnoser]
public class OffloadBenchmarks
{
    private const int Mss = 1448;
    private const int EthernetHeaderLength = 14;
    private const int Ipv4HeaderLength = 20;
    private const int TcpHeaderLength = 32;
    private const int L4Offset = EthernetHeaderLength + Ipv4HeaderLength;
    private const int TcpChecksumOffset = 16;
    private const int FullSizeFrameLength = EthernetHeaderLength + 1500;
    private const int Seed = 1071;

    private readonly GsoSegmenter _segmenter = new();
    private byte[] _gsoFrame = [];
    private VirtioNetHeader _gsoHeader;
    private byte[] _fullSizeFrame = [];

    [GlobalSetup]
    public void Setup()
    {
        _gsoFrame = BuildTcpIpv4Frame(ushort.MaxValue + EthernetHeaderLength);
        _gsoHeader = new VirtioNetHeader(
            VirtioNetHeader.FlagNeedsChecksum,
            VirtioNetHeader.GsoTcpV4,
            L4Offset + TcpHeaderLength,
            Mss,
            L4Offset,
            TcpChecksumOffset);
        _fullSizeFrame = BuildTcpIpv4Frame(FullSizeFrameLength);

        var sink = new CountingSink();
        if (_segmenter.Process(_gsoFrame, _gsoHeader, ref sink) != 46)
        {
            throw new InvalidOperationException("the 64 KiB GSO frame was not cut into 46 segments: the setup is wrong");
        }
    }

    [Benchmark]
    public int Segment64KiBTcpIpv4()
    {
        var sink = new CountingSink();
        _segmenter.Process(_gsoFrame, _gsoHeader, ref sink);
        return sink.ByteCount;
    }

    [Benchmark]
    public ushort Checksum1500Bytes() => InternetChecksum.Compute(_fullSizeFrame.AsSpan(EthernetHeaderLength));

    /// <summary>In place, over and over: the field's previous result becomes the next "pseudo-header sum", which costs the same.</summary>
    [Benchmark]
    public bool CompletePartialFullSizeFrame() => InternetChecksum.CompletePartial(_fullSizeFrame, L4Offset, TcpChecksumOffset);

    /// <summary>A TCP/IPv4 frame of <paramref name="frameLength"/> bytes with timestamps, random payload and a partial checksum.</summary>
    private static byte[] BuildTcpIpv4Frame(int frameLength)
    {
        var frame = new byte[frameLength];
        new Random(Seed).NextBytes(frame.AsSpan(L4Offset + TcpHeaderLength));
        new MacAddress(0x0200_0000_0002).Write(frame);
        new MacAddress(0x0200_0000_0001).Write(frame.AsSpan(MacAddress.Length));
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(12), 0x0800);

        var ip = frame.AsSpan(EthernetHeaderLength, Ipv4HeaderLength);
        ip[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)(frameLength - EthernetHeaderLength));
        ip[6] = 0x40;
        ip[8] = 64;
        ip[9] = InternetChecksum.ProtocolTcp;
        BinaryPrimitives.WriteUInt32BigEndian(ip[12..], 0xC000_0201);
        BinaryPrimitives.WriteUInt32BigEndian(ip[16..], 0xC633_6407);
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], InternetChecksum.Compute(ip));

        var tcp = frame.AsSpan(L4Offset, TcpHeaderLength);
        BinaryPrimitives.WriteUInt32BigEndian(tcp, (40000u << 16) | 5201);
        BinaryPrimitives.WriteUInt32BigEndian(tcp[4..], 0x1000_0000);
        tcp[12] = (TcpHeaderLength / 4) << 4;
        tcp[13] = 0x18;
        BinaryPrimitives.WriteUInt16BigEndian(tcp[14..], 502);
        BinaryPrimitives.WriteUInt32BigEndian(tcp[20..], 0x0101_080A);
        var pseudoHeaderSum = InternetChecksum.PseudoHeaderSumIpv4(ip[12..], ip[16..], InternetChecksum.ProtocolTcp, frameLength - L4Offset);
        BinaryPrimitives.WriteUInt16BigEndian(tcp[TcpChecksumOffset..], pseudoHeaderSum);
        return frame;
    }

    /// <summary>Counts bytes and keeps nothing, so the figure is the segmenter's alone.</summary>
    private struct CountingSink : IFrameSink
    {
        public int ByteCount { get; private set; }

        public void Emit(ReadOnlySpan<byte> frame) => ByteCount += frame.Length;
    }
}
