using System.Text.Json.Nodes;
using UserBridge.Control.Runtime;

namespace UserBridge.Control.Management;

/// <summary>
/// One request as a verb sees it: the switch, the arguments, who asked, and the management socket's counters (null for
/// a request made inside the process, which no socket served).
/// </summary>
public sealed record ManagementRequest(RunningSwitch Ports, JsonObject Args, ManagementCaller Caller, ManagementCounters? Counters);
