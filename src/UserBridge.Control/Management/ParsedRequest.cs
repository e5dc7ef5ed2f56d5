using System.Text.Json.Nodes;

namespace UserBridge.Control.Management;

/// <summary>
/// A request line read as JSON: the verb's table entry and its arguments, or (with <see cref="Verb"/> null) the error
/// that says why the line is not a request.
/// </summary>
public readonly record struct ParsedRequest(ManagementVerb? Verb, JsonObject Args, string? Error);
