using System.CommandLine;
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
return root.Parse(args).Invoke();
