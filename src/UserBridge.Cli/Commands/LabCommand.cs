using System.CommandLine;
using UserBridge.Cli.Output;
using UserBridge.Control.Config;
using UserBridge.Control.Management;
using UserBridge.Linux.Interop;

namespace UserBridge.Cli.Commands;

/// <summary><c>userbridge lab</c>: the three-namespace demo (see <see cref="Lab"/>).</summary>
internal static class LabCommand
{
    public static Command Create()
    {
        var prefix = new Option<string>("--prefix")
        {
            Description = "names of the lab's namespaces (PREFIX-h1..3), TAPs (PREFIX-p1..3) and switch",
            DefaultValueFactory = _ => Lab.DefaultPrefix,
        };
        var once = new Option<bool>("--once") { Description = "run the pings, show the tables and exit instead of staying up" };
        var logLevel = Logging.LevelOption();
        var lab = new Command("lab", "build three namespaces on a switch, ping between them, show the MAC table (root)") { prefix, once, logLevel };
        lab.SetAction(result =>
        {
            using var loggerFactory = Logging.Create(result.GetValue(logLevel));
            using var signals = new ShutdownSignals();
            try
            {
                var runner = new Lab(result.GetValue(prefix) ?? Lab.DefaultPrefix, 3, Console.Out, loggerFactory.CreateLogger("userbridge"));
                return runner.Run(result.GetValue(once), signals.Token);
            }
            catch (ConfigException ex)
            {
                Console.Error.WriteLine($"userbridge lab: {ex.Message}");
                return ExitCodes.BadUsage;
            }
            catch (Exception ex) when (ex is InteropException or ManagementException or InvalidOperationException)
            {
                Console.Error.WriteLine($"userbridge lab: {ex.Message}");
                return ExitCodes.Failure;
            }
        });
        return lab;
    }
}
