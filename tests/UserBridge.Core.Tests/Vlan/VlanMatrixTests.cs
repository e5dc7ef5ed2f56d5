using UserBridge.Core.Forwarding;

namespace UserBridge.Core.Tests.Vlan;

/// <summary>
/// The ingress × egress matrix of issue 4: every frame kind, entering by every kind of port, flooded (broadcast) to
/// every kind of egress port, checked byte for byte against <see cref="VlanMatrix.Expected"/>.
/// </summary>
public sealed class VlanMatrixTests
{
    public static TheoryData<FrameKind, IngressPortKind, EgressPortKind> Cells
    {
        get
        {
            var cells = new TheoryData<FrameKind, IngressPortKind, EgressPortKind>();
            foreach (var frame in Enum.GetValues<FrameKind>())
            {
                foreach (var ingress in Enum.GetValues<IngressPortKind>())
                {
                    foreach (var egress in Enum.GetValues<EgressPortKind>())
                    {
                        cells.Add(frame, ingress, egress);
                    }
                }
            }

            return cells;
        }
    }

    public static TheoryData<FrameKind, IngressPortKind> Rows
    {
        get
        {
            var rows = new TheoryData<FrameKind, IngressPortKind>();
            foreach (var frame in Enum.GetValues<FrameKind>())
            {
                foreach (var ingress in Enum.GetValues<IngressPortKind>())
                {
                    rows.Add(frame, ingress);
                }
            }

            return rows;
        }
    }

    [Theory]
    [MemberData(nameof(Cells))]
    public void AFrameIsDroppedOrLeavesTheEgressPortExactlyAsThe8021QRulesSay(FrameKind frame, IngressPortKind ingress, EgressPortKind egress)
    {
        var expected = VlanMatrix.Expected(frame, ingress, egress);
        using var bridge = VlanSwitch.Of(VlanMatrix.SettingsOf(ingress), VlanMatrix.SettingsOf(egress));

        var decision = bridge.Send(0, VlanMatrix.Build(frame));

        Assert.Equal(expected.ToString(), Outcome(decision, bridge.Drain(1)));
        Assert.Empty(bridge.Drain(0));
        Assert.Equal(expected.Drop == DropReason.None ? 0 : 1, bridge.Counters(0).TotalDrops);
        if (expected.Drop != DropReason.None)
        {
            Assert.Equal(1, bridge.Counters(0).Drops(expected.Drop));
        }
        else
        {
            Assert.Equal(VlanMatrix.Ingress(frame, ingress).Vlan, decision.Vlan);
        }
    }

    [Theory]
    [MemberData(nameof(Rows))]
    public void OneFloodGivesEveryEgressPortItsOwnFormOfTheFrame(FrameKind frame, IngressPortKind ingress)
    {
        var egressPorts = Enum.GetValues<EgressPortKind>();
        using var bridge = VlanSwitch.Of([VlanMatrix.SettingsOf(ingress), .. egressPorts.Select(VlanMatrix.SettingsOf)]);

        var decision = bridge.Send(0, VlanMatrix.Build(frame));

        for (var i = 0; i < egressPorts.Length; i++)
        {
            var expected = VlanMatrix.Expected(frame, ingress, egressPorts[i]);
            Assert.Equal($"{egressPorts[i]}: {expected}", $"{egressPorts[i]}: {Outcome(decision, bridge.Drain(i + 1))}");
        }

        Assert.Empty(bridge.Drain(0));
    }

    /// <summary>What happened, in the words of <see cref="CellOutcome.ToString"/>, so that a failure shows both sides in hex.</summary>
    private static string Outcome(ForwardingDecision decision, List<byte[]> arrived)
    {
        if (decision.Action == ForwardingAction.Drop)
        {
            return arrived.Count == 0
                ? CellOutcome.Dropped(decision.DropReason).ToString()
                : $"dropped ({DropReasons.Name(decision.DropReason)}) yet {arrived.Count} frame(s) arrived";
        }

        Assert.Equal((ForwardingAction.Flood, FloodReason.Broadcast), (decision.Action, decision.FloodReason));
        return arrived.Count switch
        {
            0 => CellOutcome.NothingArrives.ToString(),
            1 => CellOutcome.Arrives(arrived[0]).ToString(),
            _ => $"{arrived.Count} frames arrived: {string.Join(", ", arrived.Select(Convert.ToHexString))}",
        };
    }
}
