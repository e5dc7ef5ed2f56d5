using System.CommandLine.Parsing;
using System.CommandLine;
using UserBridge.Cli.Commands;
using UserBridge.Cli;

var root = new RootCommand($"""
    UserBridge: a user-space Ethernet switch for TAP devices, namespaces and VMs

    Examples (root, or the switch's user, for all but run's TAPs):
    {Examples.Text}
    """);
root.Subcommands.Add(RunCommand.Create());
root.Subcommands.Add(ShowCommands.CreateFdb());
root.Subcommands.Add(ShowCommands.CreatePort());
root.Subcommands.Add(ShowCommands.CreateVlan());
root.Subcommands.Add(ShowCommands.CreateStats());
root.Subcommands.Add(MonitorCommand.Create());
root.Subcommands.Add(TopCommand.Create());
root.Subcommands.Add(ChangeCommands.Reload());
root.Subcommands.Add(CaptureCommand.Create());
root.Subcommands.Add(ShowCommands.CreateMirror());
root.Subcommands.Add(ExtcapCommand.Create());
root.Subcommands.Add(LabCommand.Create());
root.Subcommands.Add(ShowCommands.CreateVersion());
var parsed = root.Parse(args);
if (parsed.Errors.Count == 0)
{
    return parsed.Invoke();
}

// A usage error (an unknown option, a value of the wrong type or out of its range) says what was wrong and where the
// help is, and exits with the bad-usage code, as the commands' own usage errors do; the whole help would bury it.
var command = string.Join(' ', CommandPath(parsed.CommandResult));
foreach (var error in parsed.Errors)
{
    Console.Error.WriteLine($"{command}: {error.Message}");
}

Console.Error.WriteLine($"(`{command} --help` lists the options)");
return ExitCodes.BadUsage;

static IEnumerable<string> CommandPath(CommandResult? result) =>
    result is null ? [] : [.. CommandPath(result.Parent as CommandResult), result.Command.Name];
