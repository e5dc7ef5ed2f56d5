using System.Buffers;
using System.Text.Json.Nodes;
using System.Text.Json;
using UserBridge.Core.Forwarding;
using UserBridge.Core.Learning;
using UserBridge.Core.Ports;
using UserBridge.Core.Switching;

namespace UserBridge.Control.Management;

/// <summary>
/// The verbs whose replies grow with the switch: <c>fdb show</c> (a row per MAC entry, 65,536 by default and up to
/// 2^26) and <c>port show</c> (a row per port, up to 4,096). Their rows are written straight into the reply as it is
/// sent (<see cref="ReplyRows"/>), never held as a tree or a copy of the table.
/// </summary>
public static partial class ManagementVerbs
{
    /// <summary>
    /// The MAC table in its own order (the CLI sorts by VLAN and MAC): sorting would need a copy of the whole table per
    /// client for as long as its reply takes to send.
    /// </summary>
    private static ManagementReply FdbShow(ManagementRequest request)
    {
        var args = request.Args;
        var bridge = request.Ports.Bridge;
        return ManagementReply.Listing(new FdbRows(bridge.MacTable, bridge.Snapshot, ManagementArgs.Text(args, "port"), ManagementArgs.WholeNumber(args, "vlan")));
    }

    private static ManagementReply PortShow(ManagementRequest request)
    {
        var portFilter = ManagementArgs.Text(request.Args, "port");
        var bridge = request.Ports.Bridge;
        var snapshot = bridge.Snapshot;
        if (portFilter is not null && snapshot.Find(portFilter) is null)
        {
            throw new ManagementException($"no port named '{portFilter}'");
        }

        return ManagementReply.Listing(new PortRows(bridge, snapshot, portFilter));
    }

    /// <summary>One port's <c>port show</c> row as a JSON object (the reply of <c>port set</c>).</summary>
    private static JsonObject PortRow(Bridge bridge, string name)
    {
        var snapshot = bridge.Snapshot;
        var slot = snapshot.Find(name) ?? throw new ManagementException($"no port named '{name}'");
        var output = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(output))
        {
            WritePort(writer, bridge, snapshot, slot);
        }

        return JsonNode.Parse(output.WrittenSpan)!.AsObject();
    }

    private static void WritePort(Utf8JsonWriter writer, Bridge bridge, BridgeSnapshot snapshot, PortSlot slot)
    {
        var counters = slot.Counters;
        writer.WriteStartObject();
        writer.WriteString("name", slot.Name);
        writer.WriteString("type", slot.Port.Type);
        writer.WriteString("interface", slot.Port.Interface);
        writer.WriteString("state", slot.IsUp ? "up" : "down");
        writer.WriteBoolean("offload", slot.Port is IOffloadPort { AcceptsOffloads: true });
        writer.WriteNumber("rx_frames", counters.RxFrames);
        writer.WriteNumber("tx_frames", counters.TxFrames);
        writer.WriteNumber("rx_bytes", counters.RxBytes);
        writer.WriteNumber("tx_bytes", counters.TxBytes);
        writer.WriteNumber("tx_errors", counters.TxErrors);
        writer.WriteNumber("floods", counters.Floods);
        writer.WriteStartObject("drops");
        foreach (var reason in DropReasons.All)
        {
            writer.WriteNumber(DropReasons.Name(reason), counters.Drops(reason));
        }

        writer.WriteEndObject();
        writer.WriteNumber("capture_drops", counters.CaptureDrops);
        writer.WriteBoolean("bpdu_guard", slot.Guard.BpduGuard);
        if (slot.Guard.Mtu == PortGuard.NoMtu)
        {
            writer.WriteNull("mtu");
        }
        else
        {
            writer.WriteNumber("mtu", slot.Guard.Mtu);
        }

        writer.WriteNumber("max_macs", slot.Guard.MaxMacs);
        writer.WriteNumber("macs", bridge.MacTable.CountOn(slot.Index));
        writer.WriteNumber("mac_limit_unlearned", counters.MacLimitUnlearned);
        WriteStorm(writer, slot.Guard.Storm);
        writer.WriteNumber("shutdowns", counters.Shutdowns);
        writer.WriteNumber("worker_restarts", counters.WorkerRestarts);
        writer.WriteString("vlan_mode", snapshot.VlanAware ? ModeName(slot.Vlan.Mode) : "transparent");
        writer.WritePropertyName("vlan");
        if (snapshot.VlanAware)
        {
            VlanSummary(slot.Vlan).WriteTo(writer);
        }
        else
        {
            writer.WriteNullValue();
        }

        if (slot.Port is IDescribedPort described)
        {
            writer.WriteStartObject(slot.Port.Type);
            described.Describe(writer);
            writer.WriteEndObject();
        }

        writer.WriteEndObject();
    }

    private static void WriteStorm(Utf8JsonWriter writer, StormLimits storm)
    {
        if (!storm.Any)
        {
            writer.WriteNull("storm");
            return;
        }

        writer.WriteStartObject("storm");
        writer.WriteNumber("broadcast_pps", storm.BroadcastPps);
        writer.WriteNumber("multicast_pps", storm.MulticastPps);
        writer.WriteNumber("unknown_unicast_pps", storm.UnknownUnicastPps);
        writer.WriteEndObject();
    }

    /// <summary>The MAC table's entries, a few hundred read at a time, with the port names of the request's snapshot.</summary>
    private sealed class FdbRows(MacTable table, BridgeSnapshot snapshot, string? portFilter, int? vlanFilter) : ReplyRows
    {
        private const int PieceEntries = 256;

        private readonly MacTableEntry[] _piece = new MacTableEntry[PieceEntries];
        private int _cursor;
        private int _count;
        private int _next;

        public override bool WriteNext(Utf8JsonWriter writer)
        {
            while (true)
            {
                while (_next < _count)
                {
                    var entry = _piece[_next++];
                    if (!snapshot.TryGetPort(entry.Port, out var slot) || (portFilter is not null && portFilter != slot.Name) || (vlanFilter is not null && vlanFilter != entry.Vlan))
                    {
                        continue;
                    }

                    writer.WriteStartObject();
                    writer.WriteString("mac", entry.Mac.ToString());
                    writer.WriteNumber("vlan", entry.Vlan);
                    writer.WriteString("port", slot.Name);
                    writer.WriteNumber("age_s", Math.Round(entry.Age.TotalSeconds, 1));
                    writer.WriteBoolean("static", entry.IsStatic);
                    if (slot.Port is ITunnelPort tunnel && tunnel.RemoteOf(entry.Mac, entry.Vlan) is { } remote)
                    {
                        writer.WriteString("remote", remote);
                    }

                    writer.WriteEndObject();
                    return true;
                }

                _count = table.ReadEntries(ref _cursor, _piece);
                _next = 0;
                if (_count == 0)
                {
                    return false;
                }
            }
        }
    }

    /// <summary>The ports of one snapshot (all, or the one a filter names).</summary>
    private sealed class PortRows(Bridge bridge, BridgeSnapshot snapshot, string? portFilter) : ReplyRows
    {
        private int _next;

        public override bool WriteNext(Utf8JsonWriter writer)
        {
            var slots = snapshot.Ports;
            while (_next < slots.Length)
            {
                var slot = slots[_next++];
                if (slot is not null && (portFilter is null || portFilter == slot.Name))
                {
                    WritePort(writer, bridge, snapshot, slot);
                    return true;
                }
            }

            return false;
        }
    }
}
