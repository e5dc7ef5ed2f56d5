using System.Text.Json.Nodes;
using UserBridge.Control.Management;

namespace UserBridge.Integration.Tests;

/// <summary>
/// <c>runtime_ports</c> against the real process: once the switch has become its user, a client other than root (the
/// user, a member of the group) adds only the ports the allow-list names, whatever capabilities the switch kept, and
/// root adds any.
/// </summary>
public sealed class RuntimePortsTests : IDisposable
{
    private const int NobodyUid = 65534;
    private const int NogroupGid = 65534;
    private const int DaemonUid = 1;

    private readonly SwitchLab _lab = new();

    public void Dispose() => _lab.Dispose();

    private string Allowed => $"{_lab.Network.Prefix}-v1";

    private string Outside => $"{_lab.Network.Prefix}-x1";

    [Fact]
    public void AClientOtherThanRootAddsOnlyPortsTheAllowListNamesAndRootAddsAny()
    {
        Privileged.Require(["setpriv", "socat"]);
        var config = $"user = \"nobody\"\ngroup = \"nogroup\"\nruntime_ports = {{ interfaces = [\"{_lab.Network.Prefix}-v*\"], paths = [] }}\n" + _lab.TapPort(1);
        _lab.Start("--config", _lab.WriteConfig(config));
        File.SetUnixFileMode(_lab.Directory, File.GetUnixFileMode(_lab.Directory) | UnixFileMode.OtherExecute);

        var sniff = Request(NobodyUid, NogroupGid, "sniff", "packet", "ANY");
        var outside = Request(DaemonUid, NogroupGid, "x1", "tap", Outside);
        var inside = Request(NobodyUid, NogroupGid, "v1", "tap", Allowed);

        Assert.Equal($"permission denied: uid {NobodyUid} may add only the ports runtime_ports allows, and interface 'ANY' matches no pattern of runtime_ports.interfaces ({_lab.Network.Prefix}-v*)", (string?)sniff["error"]);
        Assert.Equal($"permission denied: uid {DaemonUid} may add only the ports runtime_ports allows, and interface '{Outside}' matches no pattern of runtime_ports.interfaces ({_lab.Network.Prefix}-v*)", (string?)outside["error"]);
        Assert.Equal($"{{\"name\":\"v1\",\"type\":\"tap\",\"endpoint\":\"{Allowed}\"}}", inside["result"]?.ToJsonString());
        Assert.True(TestNetwork.InterfaceExists(Allowed), $"the allowed TAP {Allowed} was not created: {inside.ToJsonString()}");
        Assert.False(TestNetwork.InterfaceExists(Outside), $"the refused TAP {Outside} exists");

        ManagementClient.Call(_lab.Control, "port add", new JsonObject { ["name"] = "x1", ["type"] = "tap", ["interface"] = Outside });
        Assert.True(TestNetwork.InterfaceExists(Outside), $"root's TAP {Outside} was not created");
        Assert.Equal(["p1", "v1", "x1"], ManagementClient.Call(_lab.Control, "port show").AsArray().Select(row => (string?)row!["name"]).Order(StringComparer.Ordinal));
    }

    /// <summary>Sends <c>port add</c> as <paramref name="uid"/>:<paramref name="gid"/> and returns the reply.</summary>
    private JsonObject Request(int uid, int gid, string name, string type, string interfaceName)
    {
        var request = ManagementProtocol.Request("port add", new JsonObject { ["name"] = name, ["type"] = type, ["interface"] = interfaceName });
        var result = Shell.Run("sh", "-c", $"echo '{request}' | setpriv --reuid={uid} --regid={gid} --clear-groups socat -t 5 - UNIX-CONNECT:{_lab.Control}");
        Assert.True(result.Output.Length > 0, $"no reply to uid {uid}: {result.Error}");
        return JsonNode.Parse(result.Output)!.AsObject();
    }
}
