using System.Text.Json.Nodes;
using UserBridge.Control.Runtime;
using UserBridge.Core.Forwarding;
using UserBridge.Core.Ports;

namespace UserBridge.Control.Management;

/// <summary>The <c>stats</c> verb: the switch's counters, summed over its ports or for one.</summary>
public static partial class ManagementVerbs
{
    private static ManagementReply Stats(ManagementRequest request)
    {
        var manager = request.Ports;
        var bridge = manager.Bridge;
        var portName = ManagementArgs.Text(request.Args, "port");
        var slots = bridge.Snapshot.Ports.Where(slot => slot is not null && (portName is null || slot.Name == portName)).Select(slot => slot!).ToList();
        if (portName is not null && slots.Count == 0)
        {
            throw new ManagementException($"no port named '{portName}'");
        }

        var drops = new JsonObject();
        foreach (var reason in DropReasons.All)
        {
            drops[DropReasons.Name(reason)] = slots.Sum(slot => slot.Counters.Drops(reason));
        }

        var result = portName is null
            ? SwitchWide(manager, slots.Count, request.Counters)
            : new JsonObject { ["port"] = portName, ["mac_entries"] = bridge.MacTable.GetEntries().Count(entry => entry.Port == slots[0].Index) };

        result["rx_frames"] = slots.Sum(slot => slot.Counters.RxFrames);
        result["tx_frames"] = slots.Sum(slot => slot.Counters.TxFrames);
        result["rx_bytes"] = slots.Sum(slot => slot.Counters.RxBytes);
        result["tx_bytes"] = slots.Sum(slot => slot.Counters.TxBytes);
        result["tx_errors"] = slots.Sum(slot => slot.Counters.TxErrors);
        result["floods"] = slots.Sum(slot => slot.Counters.Floods);
        result["capture_drops"] = slots.Sum(slot => slot.Counters.CaptureDrops);
        result["drops"] = drops;
        return ManagementReply.Ok(result);
    }

    /// <summary>
    /// What only the whole switch has: its ports and monitors, the MAC table, why ports stopped or were refused, the
    /// collector, and (when a socket served the request) the management socket's clients and what it refused or cut off.
    /// </summary>
    private static JsonObject SwitchWide(RunningSwitch manager, int portCount, ManagementCounters? management)
    {
        var bridge = manager.Bridge;
        var table = bridge.MacTable;
        var failures = new JsonObject();
        foreach (var failure in PortFailures.All)
        {
            failures[PortFailures.Name(failure)] = bridge.Failures(failure);
        }

        var refusals = new JsonObject();
        foreach (var refusal in PortRefusals.All)
        {
            refusals[PortRefusals.Name(refusal)] = bridge.Refusals(refusal);
        }

        var result = new JsonObject
        {
            ["ports"] = portCount,
            ["monitors"] = manager.Events.Subscribers,
            ["mac_table"] = new JsonObject
            {
                ["entries"] = table.Count,
                ["capacity"] = table.Capacity,
                ["learned"] = table.LearnedCount,
                ["moved"] = table.MovedCount,
                ["aged"] = table.AgedCount,
                ["evicted"] = table.EvictedCount,
                ["learn_failures"] = table.LearnFailureCount,
            },
            ["port_failures"] = failures,
            ["ports_refused"] = refusals,
            ["gc"] = new JsonObject
            {
                ["gen0"] = GC.CollectionCount(0),
                ["gen1"] = GC.CollectionCount(1),
                ["gen2"] = GC.CollectionCount(2),
                ["heap_bytes"] = GC.GetGCMemoryInfo().HeapSizeBytes,
                ["allocated_bytes"] = GC.GetTotalAllocatedBytes(),
            },
        };
        if (management is not null)
        {
            result["management"] = management.Describe();
        }

        return result;
    }
}
