using System.Buffers.Binary;
using CsCheck;
using UserBridge.Core.Forwarding;
using UserBridge.Core.Frames;
using UserBridge.Core.Offload;
using UserBridge.Core.Ports;
using UserBridge.Core.Workers;
using UserBridge.Tests.Shared;

namespace UserBridge.Core.Tests;

/// <summary>
/// Fuzzing with CsCheck's generators: the frame parser and VLAN rules (through the whole engine, VLAN-aware and
/// transparent), the virtio-net header and software GSO get random and half-valid input.
/// Nothing may throw; every decision must be whole (a drop has a reason, a frame sent is a frame). See
/// <see cref="FuzzBudget"/> for the length of a run.
/// </summary>
public sealed class FuzzTests
{
    private static readonly MacAddress[] Addresses =
    [
        Frames.Station(1), Frames.Station(2), MacAddress.Broadcast, new(0), MacAddress.Parse("01:00:5e:00:00:01"),
        MacAddress.Parse("01:80:c2:00:00:00"), MacAddress.Parse("01:80:c2:00:00:02"),
    ];

    private static readonly ushort[] EtherTypes = [0x0800, 0x86DD, 0x8100, 0x88A8, 0x0806, 0x9100, 0x0000, 0xFFFF];

    /// <summary>A frame: random bytes, or addresses and tags a switch cares about followed by random bytes, cut anywhere.</summary>
    private static readonly Gen<byte[]> FrameGen = Gen.Frequency(
        (1, Gen.Byte.Array[0, 120]),
        (3, Gen.Select(Gen.Int[0, Addresses.Length - 1], Gen.Int[0, Addresses.Length - 1], Gen.Int[0, EtherTypes.Length - 1], Gen.Int[0, EtherTypes.Length - 1], Gen.UShort, Gen.Byte.Array[0, 200], Gen.Int[0, 240])
            .Select(static (destination, source, outer, inner, tci, payload, cut) => Structured(destination, source, outer, inner, tci, payload, cut))));

    private static readonly Gen<VirtioNetHeader> HeaderGen = Gen.Frequency(
        (2, Gen.Const(VirtioNetHeader.None)),
        (3, Gen.Select(Gen.Byte[0, 3], Gen.OneOf<byte>(0, 1, 3, 4, 5, 0x81, 7, 0xFF), Gen.UShort[0, 200], Gen.UShort[0, 3000], Gen.UShort[0, 200], Gen.UShort[0, 40])
            .Select(static (flags, gso, headerLength, gsoSize, start, offset) => new VirtioNetHeader(flags, gso, headerLength, gsoSize, start, offset))));

    [Fact]
    public void TheEngineSurvivesAnyFrameOnAnyKindOfPort()
    {
        var (iterations, seconds) = FuzzBudget.Current;
        Gen.Select(FrameGen, HeaderGen, Gen.Int[0, 3], Gen.Bool).Sample(
            static (frame, header, ingress, aware) => Decide(frame, header, ingress, aware),
            writeLine: FuzzBudget.Report,
            iter: iterations,
            time: seconds,
            print: static input => $"{Convert.ToHexString(input.Item1)} {input.Item2} port {input.Item3} aware {input.Item4}");
    }

    [Fact]
    public void TheSegmenterSurvivesAnyHeaderOnHalfValidTcpAndUdpFrames()
    {
        var (iterations, seconds) = FuzzBudget.Current;
        var segmenter = new ThreadLocal<GsoSegmenter>(() => new GsoSegmenter());
        Gen.Select(Gen.Bool, Gen.Bool, Gen.Int[0, 3000], HeaderGen, Gen.Int[0, 80].Array[0, 4], Gen.Byte).Sample(
            (ipv6, udp, payload, header, flips, value) =>
            {
                var frame = Transport(ipv6, udp, payload);
                foreach (var offset in flips)
                {
                    frame[Math.Min(offset, frame.Length - 1)] = value;
                }

                var sink = new BoundedSink();
                var emitted = segmenter.Value!.Process(frame, header, ref sink);
                if (emitted < -1 || (emitted >= 0 && emitted != sink.Frames) || (emitted < 0 && sink.Frames != 0))
                {
                    throw new InvalidOperationException($"returned {emitted} after emitting {sink.Frames} frames");
                }
            },
            writeLine: FuzzBudget.Report,
            iter: iterations,
            time: seconds);
    }

    /// <summary>
    /// Headers a hostile sender would choose: tiny and huge <c>gso_size</c>, offsets that almost fit, on frames up to
    /// 64 KiB. Whatever the header, one frame never becomes more than <see cref="GsoSegmenter.MaxSegments"/> segments,
    /// and a <c>gso_size</c> below the minimum never becomes more than one.
    /// </summary>
    [Fact]
    public void TheSegmentersWorkPerFrameIsBoundedWhateverTheHeaderSays()
    {
        var (iterations, seconds) = FuzzBudget.Current;
        var segmenter = new ThreadLocal<GsoSegmenter>(() => new GsoSegmenter());
        var gsoSizes = Gen.Frequency((4, Gen.UShort[0, 100]), (1, Gen.UShort), (1, Gen.OneOf<ushort>(0, 1, 47, 48, 0xFFFF)));
        var headers = Gen.Select(Gen.Byte[0, 3], Gen.OneOf<byte>(1, 4, 5, 0x81, 3), Gen.UShort[0, 120], gsoSizes, Gen.OneOf<ushort>(34, 54, 0, 33, 35), Gen.OneOf<ushort>(16, 6, 0, 17))
            .Select(static (flags, gso, headerLength, gsoSize, start, offset) => new VirtioNetHeader(flags, gso, headerLength, gsoSize, start, offset));
        Gen.Select(Gen.Bool, Gen.Bool, Gen.Int[0, 65_400], headers).Sample(
            (ipv6, udp, payload, header) =>
            {
                var frame = Transport(ipv6, udp, payload);
                var sink = new BoundedSink();
                var emitted = segmenter.Value!.Process(frame, header, ref sink);
                var whole = emitted == -1 ? sink.Frames == 0 : emitted == sink.Frames;
                if (!whole || emitted > GsoSegmenter.MaxSegments || (emitted > 1 && header.GsoSize < GsoSegmenter.MinGsoSize))
                {
                    throw new InvalidOperationException($"a {frame.Length}-byte frame with {header} returned {emitted} after emitting {sink.Frames} frames");
                }
            },
            writeLine: FuzzBudget.Report,
            iter: iterations / 10,
            time: seconds,
            print: static input => $"ipv6 {input.Item1} udp {input.Item2} payload {input.Item3} {input.Item4}");
    }

    private static void Decide(byte[] frame, VirtioNetHeader header, int ingress, bool aware)
    {
        using var harness = new EngineHarness(portCount: 4);
        if (aware)
        {
            harness.SetVlan(0, PortVlan.Access(10));
            harness.SetVlan(1, PortVlan.Trunk([1, 10, 20, 4094], native: 1));
            harness.SetVlan(2, PortVlan.Dot1qTunnel(30));
            harness.SetVlan(3, PortVlan.Trunk([10, 30], tpid: PortVlan.TpidDot1ad));
        }

        var decision = harness.Engine.Process(harness.Snapshot, ingress, frame, header, new WorkerContext(), harness.Table.NowMs);
        if ((decision.Action == ForwardingAction.Drop) != (decision.DropReason != DropReason.None))
        {
            throw new InvalidOperationException($"{decision.Action} with drop reason {decision.DropReason}");
        }

        if (harness.Counters(ingress).RxFrames != 1)
        {
            throw new InvalidOperationException("the frame was not counted on its port");
        }

        for (var port = 0; port < 4; port++)
        {
            if (harness.Drain(port).Any(sent => sent.Length < EthernetFrame.HeaderLength))
            {
                throw new InvalidOperationException($"a frame shorter than an Ethernet header left by port {port}");
            }
        }
    }

    private static byte[] Structured(int destination, int source, int outer, int inner, ushort tci, byte[] payload, int cut)
    {
        var frame = new byte[18 + payload.Length];
        Addresses[destination].Write(frame);
        Addresses[source].Write(frame.AsSpan(6));
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(12), EtherTypes[outer]);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(14), tci);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(16), EtherTypes[inner]);
        payload.CopyTo(frame.AsSpan(18));
        return frame[..Math.Min(cut, frame.Length)];
    }

    /// <summary>An Ethernet frame with a plausible IPv4 or IPv6 header and a TCP or UDP header in front of <paramref name="payload"/> bytes.</summary>
    private static byte[] Transport(bool ipv6, bool udp, int payload)
    {
        var ipLength = ipv6 ? 40 : 20;
        var l4Length = udp ? 8 : 20;
        var frame = new byte[14 + ipLength + l4Length + payload];
        Frames.Station(2).Write(frame);
        Frames.Station(1).Write(frame.AsSpan(6));
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(12), ipv6 ? (ushort)0x86DD : (ushort)0x0800);
        var ip = frame.AsSpan(14);
        if (ipv6)
        {
            ip[0] = 0x60;
            BinaryPrimitives.WriteUInt16BigEndian(ip[4..], (ushort)(l4Length + payload));
            ip[6] = udp ? (byte)17 : (byte)6;
            ip[7] = 64;
        }
        else
        {
            ip[0] = 0x45;
            BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)(ipLength + l4Length + payload));
            ip[8] = 64;
            ip[9] = udp ? (byte)17 : (byte)6;
        }

        var l4 = frame.AsSpan(14 + ipLength);
        if (udp)
        {
            BinaryPrimitives.WriteUInt16BigEndian(l4[4..], (ushort)(8 + payload));
        }
        else
        {
            l4[12] = 0x50;
        }

        return frame;
    }

    /// <summary>Counts frames and checks each is a frame a port could send.</summary>
    private struct BoundedSink : IFrameSink
    {
        public int Frames;

        public void Emit(ReadOnlySpan<byte> frame)
        {
            if (frame.Length is < EthernetFrame.HeaderLength or > GsoSegmenter.MaxSegmentLength)
            {
                throw new InvalidOperationException($"a {frame.Length}-byte frame was emitted");
            }

            Frames++;
        }
    }
}
