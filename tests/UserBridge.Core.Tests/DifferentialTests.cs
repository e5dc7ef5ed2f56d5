using CsCheck;
using UserBridge.Core.Forwarding;
using UserBridge.Core.Frames;
using UserBridge.Core.Learning;

namespace UserBridge.Core.Tests;

/// <summary>
/// Differential property test: random sequences of frames, port state changes and clock steps run through the real
/// engine and MAC table and through <see cref="ReferenceSwitch"/>, a small model of the forwarding rules written from the
/// README; every frame's decision and the set of ports it leaves by must agree. 100,000 sequences per run; a failure
/// prints the shrunk sequence and the seed that reproduces it (<c>CsCheck_Seed=SEED dotnet test</c>).
/// </summary>
public sealed class DifferentialTests
{
    private const int Ports = 4;
    private const int Sequences = 100_000;

    private static readonly MacAddress[] Sources =
    [
        Frames.Station(1), Frames.Station(2), Frames.Station(3), Frames.Station(4), Frames.Station(5), Frames.Station(6),
        new(0), MacAddress.Parse("01:00:5e:00:00:01"),
    ];

    private static readonly MacAddress[] Destinations =
    [
        Frames.Station(1), Frames.Station(2), Frames.Station(3), Frames.Station(4), Frames.Station(5), Frames.Station(6),
        Frames.Station(0x77), MacAddress.Broadcast, MacAddress.Parse("01:00:5e:00:00:01"), MacAddress.Parse("01:80:c2:00:00:00"),
        MacAddress.Parse("01:80:c2:00:00:0e"),
    ];

    private static readonly int[] Vids = [-1, -1, -1, 1, 2, 4095];

    private static readonly int[] ClockSteps = [0, 1, 999, 1000, 1001, 30_000, 59_999, 60_001, 120_000];

    private static readonly Gen<Step> StepGen = Gen.Frequency(
        (20, Gen.Select(Gen.Int[0, Ports - 1], Gen.Int[0, Sources.Length - 1], Gen.Int[0, Destinations.Length - 1], Gen.Int[0, Vids.Length - 1])
            .Select(static (port, source, destination, vid) => (Step)new FrameStep(port, source, destination, Vids[vid]))),
        (2, Gen.Select(Gen.Int[0, Ports - 1], Gen.Bool).Select(static (port, up) => (Step)new PortStep(port, up))),
        (3, Gen.Int[0, ClockSteps.Length - 1].Select(static step => (Step)new ClockStep(ClockSteps[step]))));

    [Fact]
    public void TheEngineAgreesWithTheReferenceModelOnEverySequence()
    {
        Assert.True(NoBucketOverflows(), "the stations' keys must fit their buckets, or eviction would be part of the test");

        StepGen.Array[1, 60].Sample(Run, iter: Sequences, print: steps => string.Join(", ", steps.Select(step => step.ToString())));
    }

    private static void Run(Step[] steps)
    {
        using var harness = new EngineHarness(Ports);
        var model = new ReferenceSwitch(Ports, (long)EngineHarness.AgingTime.TotalMilliseconds);
        foreach (var step in steps)
        {
            switch (step)
            {
                case FrameStep frame:
                    Compare(harness, model, frame);
                    break;
                case PortStep port:
                    harness.SetPortUp(port.Port, port.Up);
                    if (!port.Up)
                    {
                        // As the bridge does when a port goes down.
                        harness.Table.FlushPort(port.Port, includeStatic: false);
                    }

                    model.SetUp(port.Port, port.Up);
                    break;
                case ClockStep clock:
                    harness.Time.Advance(TimeSpan.FromMilliseconds(clock.Ms));
                    model.Advance(clock.Ms);
                    break;
            }
        }
    }

    private static void Compare(EngineHarness harness, ReferenceSwitch model, FrameStep step)
    {
        var (source, destination) = (Sources[step.Source], Destinations[step.Destination]);
        var bytes = Frames.Ethernet(destination, source, vlan: step.Vid < 0 ? null : (ushort)step.Vid);
        var expected = model.Receive(step.Port, source, destination, Math.Max(step.Vid, 0));

        var decision = harness.Send(step.Port, bytes);
        var sentTo = Enumerable.Range(0, Ports).Where(port => harness.Drain(port).Count > 0).ToArray();

        var actual = new Outcome(decision.Action, decision.DropReason, sentTo);
        if (actual != expected)
        {
            throw new InvalidOperationException($"{step}: engine {actual}, model {expected}");
        }
    }

    /// <summary>True when no bucket of a default test table gets more keys than it has slots.</summary>
    private static bool NoBucketOverflows()
    {
        var bits = BucketKeys.BucketBits(1024);
        var keys = from mac in Sources.Concat(Destinations).Distinct()
                   from vid in Vids.Distinct()
                   select MacKey.Split(MacTable.Key(mac, Math.Max(vid, 0)), bits).Bucket;
        return keys.GroupBy(bucket => bucket).All(bucket => bucket.Count() <= MacTable.SlotsPerBucket);
    }

    private abstract record Step;

    private sealed record FrameStep(int Port, int Source, int Destination, int Vid) : Step;

    private sealed record PortStep(int Port, bool Up) : Step;

    private sealed record ClockStep(int Ms) : Step;
}

/// <summary>What a frame did: the decision, the drop reason and the ports it was sent out of.</summary>
internal readonly record struct Outcome(ForwardingAction Action, DropReason Reason, int[] SentTo)
{
    public bool Equals(Outcome other) => Action == other.Action && Reason == other.Reason && SentTo.SequenceEqual(other.SentTo);

    public override int GetHashCode() => HashCode.Combine(Action, Reason, SentTo.Length);

    public override string ToString() => $"{Action} {Reason} to [{string.Join(",", SentTo)}]";
}

/// <summary>
/// The forwarding rules of a VLAN-transparent switch, as plainly as they can be written: a dictionary for the MAC
/// table, no concurrency, no limits. The reference for <see cref="DifferentialTests"/>.
/// </summary>
internal sealed class ReferenceSwitch(int ports, long agingMs)
{
    private const long RefreshMs = 1000;
    private const int ReservedVid = 4095;

    private readonly Dictionary<(int Vlan, MacAddress Mac), (int Port, long SeenMs)> _table = [];
    private readonly bool[] _up = [.. Enumerable.Repeat(true, ports)];
    private long _nowMs;

    public void Advance(int ms) => _nowMs += ms;

    /// <summary>A port goes up or down; going down forgets what was learned on it.</summary>
    public void SetUp(int port, bool up)
    {
        _up[port] = up;
        if (!up)
        {
            foreach (var key in _table.Where(entry => entry.Value.Port == port).Select(entry => entry.Key).ToList())
            {
                _table.Remove(key);
            }
        }
    }

    public Outcome Receive(int ingress, MacAddress source, MacAddress destination, int vlan)
    {
        if (!_up[ingress])
        {
            return Drop(DropReason.PortDown);
        }

        if (vlan == ReservedVid)
        {
            return Drop(DropReason.ReservedVlan);
        }

        if (source.IsZero)
        {
            return Drop(DropReason.ZeroSource);
        }

        if (source.IsMulticast)
        {
            return Drop(DropReason.MulticastSource);
        }

        if ((destination.Value & ~0xFUL) == 0x0180_C200_0000UL)
        {
            return Drop(DropReason.LinkLocal);
        }

        Learn(ingress, source, vlan);
        if (destination.IsMulticast || !_table.TryGetValue((vlan, destination), out var entry) || _nowMs - entry.SeenMs > agingMs)
        {
            return new Outcome(ForwardingAction.Flood, DropReason.None, [.. Enumerable.Range(0, _up.Length).Where(port => port != ingress && _up[port])]);
        }

        return entry.Port == ingress
            ? Drop(DropReason.LocalDestination)
            : new Outcome(ForwardingAction.Forward, DropReason.None, [entry.Port]);
    }

    /// <summary>A new station is learned, a moved one moves at once, a known one is refreshed when its time is stale.</summary>
    private void Learn(int port, MacAddress source, int vlan)
    {
        if (_table.TryGetValue((vlan, source), out var known) && known.Port == port && _nowMs - known.SeenMs <= RefreshMs)
        {
            return;
        }

        _table[(vlan, source)] = (port, _nowMs);
    }

    private static Outcome Drop(DropReason reason) => new(ForwardingAction.Drop, reason, []);
}
