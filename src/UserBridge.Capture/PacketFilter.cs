using System.Runtime.InteropServices;
using SharpPcap;
using SharpPcap.LibPcap;

namespace UserBridge.Capture;

/// <summary>
/// A BPF filter in tcpdump's syntax, compiled by libpcap (through SharpPcap) for Ethernet and run by libpcap's
/// interpreter on each copy before it is taken. Matching allocates nothing: the frame and a <c>pcap_pkthdr</c> on
/// the stack are passed by pointer (SharpPcap's span overload copies both to the native heap per call).
/// Thread-safe: <c>pcap_offline_filter</c> only reads the program.
/// </summary>
public sealed class PacketFilter : IDisposable
{
    private readonly BpfProgram _program;

    private PacketFilter(string expression, BpfProgram program)
    {
        Expression = expression;
        _program = program;
    }

    public string Expression { get; }

    /// <summary>Compiles <paramref name="expression"/>; a bad one is refused with libpcap's message.</summary>
    public static PacketFilter Compile(string expression)
    {
        ArgumentNullException.ThrowIfNull(expression);
        try
        {
            return new PacketFilter(expression, BpfProgram.Create(PacketDotNet.LinkLayers.Ethernet, expression, 1, 0));
        }
        catch (PcapException ex)
        {
            throw new CaptureException($"filter \"{expression}\": {ex.Message}", ex);
        }
        catch (DllNotFoundException ex)
        {
            throw new CaptureException("filters need libpcap: install it (Debian: apt-get install libpcap0.8)", ex);
        }
    }

    /// <summary>True when the frame matches.</summary>
    public unsafe bool Matches(ReadOnlySpan<byte> frame)
    {
        var header = new PcapPacketHeader { CaptureLength = (uint)frame.Length, Length = (uint)frame.Length };
        fixed (byte* data = frame)
        {
            return _program.Matches((IntPtr)(&header), (IntPtr)data);
        }
    }

    public void Dispose() => _program.Dispose();

    /// <summary><c>struct pcap_pkthdr</c> on 64-bit Linux: a <c>timeval</c> of two longs, then caplen and len.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct PcapPacketHeader
    {
        public long Seconds;
        public long Microseconds;
        public uint CaptureLength;
        public uint Length;
    }
}
