using System.Buffers.Binary;
using UserBridge.Core.Forwarding;
using UserBridge.Core.Frames;

namespace UserBridge.Capture;

/// <summary>
/// The forwarding decision in words, for a packet's comment: <c>forward: learned on p2 vlan 10</c>,
/// <c>flood: unknown unicast vlan 10</c>, <c>drop: vlan 20 not allowed on trunk p4</c>. Texts are cached, so the
/// writer builds each distinct one once.
/// </summary>
internal sealed class DecisionText
{
    private const int MaxCached = 4096;

    private readonly Dictionary<Key, string> _cache = [];

    /// <summary>The text for a copy seen on <paramref name="port"/> (the ingress port for drops).</summary>
    public string For(in ForwardingDecision decision, string port, string? egressPort, ReadOnlySpan<byte> frame)
    {
        var vlan = decision.Action == ForwardingAction.Drop && decision.DropReason is DropReason.VlanNotAllowed or DropReason.VlanTaggedOnAccess
            ? TaggedVid(frame)
            : decision.Vlan;
        var key = new Key(decision.Action, decision.DropReason, decision.FloodReason, vlan, decision.Action == ForwardingAction.Drop ? port : null, egressPort, decision.DropReason == DropReason.TooShort ? frame.Length : 0);
        if (!_cache.TryGetValue(key, out var text))
        {
            if (_cache.Count >= MaxCached)
            {
                _cache.Clear();
            }

            text = Build(key);
            _cache.Add(key, text);
        }

        return text;
    }

    private static int TaggedVid(ReadOnlySpan<byte> frame) =>
        frame.Length >= EthernetFrame.HeaderLength + EthernetFrame.VlanTagLength ? BinaryPrimitives.ReadUInt16BigEndian(frame[14..]) & 0x0FFF : 0;

    private static string InVlan(int vlan) => vlan == 0 ? string.Empty : $" vlan {vlan}";

    private static string Build(Key key) => key.Action switch
    {
        ForwardingAction.Forward => $"forward: learned on {key.EgressPort ?? "a removed port"}{InVlan(key.Vlan)}",
        ForwardingAction.Flood => key.FloodReason switch
        {
            FloodReason.Broadcast => $"flood: broadcast{InVlan(key.Vlan)}",
            FloodReason.Multicast => $"flood: multicast{InVlan(key.Vlan)}",
            _ => $"flood: unknown unicast{InVlan(key.Vlan)}",
        },
        _ => key.DropReason switch
        {
            DropReason.TooShort => $"drop: too short ({key.Length} bytes, under the 14-byte Ethernet header)",
            DropReason.MulticastSource => "drop: multicast source address",
            DropReason.PortDown => $"drop: port {key.Port} is down",
            DropReason.EgressDown => $"drop: destination learned on a port that is down{InVlan(key.Vlan)}",
            DropReason.LocalDestination => $"drop: destination is on {key.Port} itself{InVlan(key.Vlan)}",
            DropReason.BadOffload => "drop: impossible offload in the virtio-net header",
            DropReason.VlanTaggedOnAccess => $"drop: tagged vlan {key.Vlan} on access port {key.Port}",
            DropReason.VlanNotAllowed => $"drop: vlan {key.Vlan} not allowed on trunk {key.Port}",
            DropReason.VlanUntaggedOnTrunk => $"drop: untagged on trunk {key.Port} without a native vlan",
            DropReason.MirrorOutput => $"drop: {key.Port} is a mirror output (it takes copies only)",
            DropReason.ZeroSource => "drop: source address 00:00:00:00:00:00",
            DropReason.TruncatedTag => $"drop: vlan tag cut short ({key.Length} bytes)",
            DropReason.ReservedVlan => "drop: vlan 4095 is reserved",
            DropReason.LinkLocal => "drop: link-local group 01:80:c2:00:00:0x is not forwarded",
            DropReason.BpduGuard => $"drop: bpdu on {key.Port}, bpdu guard took it down",
            DropReason.MacLimit => $"drop: new source on {key.Port}, which holds its max_macs{InVlan(key.Vlan)}",
            DropReason.StormBroadcast => $"drop: broadcast over {key.Port}'s storm limit{InVlan(key.Vlan)}",
            DropReason.StormMulticast => $"drop: multicast over {key.Port}'s storm limit{InVlan(key.Vlan)}",
            DropReason.StormUnknownUnicast => $"drop: unknown unicast over {key.Port}'s storm limit{InVlan(key.Vlan)}",
            DropReason.TooLong => $"drop: {key.Length} bytes, over {key.Port}'s mtu",
            _ => $"drop: {DropReasons.Name(key.DropReason)}",
        },
    };

    private readonly record struct Key(ForwardingAction Action, DropReason DropReason, FloodReason FloodReason, int Vlan, string? Port, string? EgressPort, int Length);
}
