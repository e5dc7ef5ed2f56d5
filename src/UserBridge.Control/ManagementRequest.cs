using System.Text.Json.Nodes;

namespace UserBridge.Control;

/// <summary>
/// One request as a verb sees it: the switch, the arguments, who asked, and the management socket's counters (null for
/// a request made inside the process, which no socket served).
/// </summary>
public sealed record ManagementRequest(PortManager Ports, JsonObject Args, ManagementCaller Caller, ManagementCounters? Counters);
