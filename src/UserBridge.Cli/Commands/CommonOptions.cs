using System.CommandLine;
using UserBridge.Control.Config;
using UserBridge.Core.Switching;

namespace UserBridge.Cli.Commands;

/// <summary>Options shared by the commands that talk to a running switch.</summary>
internal sealed class CommonOptions
{
    public Option<string> Name { get; } = new("--name")
    {
        Description = "the switch's name (its control socket is /run/userbridge/NAME.sock)",
        DefaultValueFactory = _ => BridgeOptions.DefaultName,
    };

    public Option<string?> ControlPath { get; } = new("--control") { Description = "the management socket's path (overrides --name)" };

    public Option<bool> Json { get; } = new("--json", "-j") { Description = "print JSON" };

    public Option<bool> Pretty { get; } = new("--pretty") { Description = "indent the JSON" };

    public void AddTo(Command command)
    {
        command.Options.Add(Name);
        command.Options.Add(ControlPath);
        command.Options.Add(Json);
        command.Options.Add(Pretty);
    }

    public string SocketPath(ParseResult result) =>
        result.GetValue(ControlPath) ?? SwitchConfig.DefaultControlPath(result.GetValue(Name) ?? BridgeOptions.DefaultName);
}
