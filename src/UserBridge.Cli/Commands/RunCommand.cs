using System.CommandLine;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Hosting.Systemd;
using Microsoft.Extensions.Logging;
using UserBridge.Capture;
using UserBridge.Cli.Output;
using UserBridge.Control.Config;
using UserBridge.Control.Management;
using UserBridge.Control.Runtime;
using UserBridge.Core.Switching;
using UserBridge.Linux.Host;
using UserBridge.Linux.Interop;

namespace UserBridge.Cli.Commands;

/// <summary><c>userbridge run</c>: runs a switch in the foreground until SIGINT or SIGTERM.</summary>
internal static class RunCommand
{
    /// <summary>
    /// The collector's young-generation budget the switch runs with (<c>DOTNET_GCgen0size</c>, hexadecimal bytes: 4 MiB).
    /// Left alone, the runtime sizes it from the CPU's last-level cache, which some server CPUs report as hundreds of
    /// megabytes (300 MiB on this project's CI machines: a 240 MiB budget), and the switch's resident memory then
    /// carries that much of its control plane's garbage before the first collection. The data path allocates nothing,
    /// so a small budget costs only a sub-millisecond collection every few thousand management requests. Only the
    /// environment sets it, so <c>run</c> starts itself again with it unless it is set already.
    /// </summary>
    private const string YoungGenerationBudgetVariable = "DOTNET_GCgen0size";
    private const string YoungGenerationBudget = "400000";

    public static Command Create()
    {
        var config = new Option<FileInfo?>("--config", "-c") { Description = "a TOML config file" };
        var taps = new Option<string[]>("--tap") { Description = "a TAP port (created if absent, attached if persistent); repeat for more", Arity = ArgumentArity.ZeroOrMore };
        var name = new Option<string?>("--name") { Description = $"the switch's name (default {BridgeOptions.DefaultName}; names the control socket)" };
        var control = new Option<string?>("--control") { Description = "the management socket's path (default /run/userbridge/NAME.sock)" };
        var stats = new Option<int>("--stats")
        {
            Description = $"print a line of counters every SECONDS when they changed (0: never; at most {Limits.MaxDurationSeconds})",
            DefaultValueFactory = _ => 10,
        }.Within(0, (int)Limits.MaxDurationSeconds, " seconds (0: never)");
        var cpus = new Option<string?>("--cpus") { Description = "run the port workers on these CPUs, e.g. 0 or 0-1 (default: anywhere); on 2 cores, one CPU leaves the other to the hosts' stacks" };
        var pollers = new Option<int?>("--pollers") { Description = $"poller threads serving the TAP, packet and datagram ports (0: a thread per port; default {SwitchConfig.DefaultPollers}, at most {SwitchConfig.MaxPollers})" }
            .Within(0, SwitchConfig.MaxPollers, " (0: a thread per port)");
        var logLevel = Logging.LevelOption();
        var run = new Command("run", "run the switch in the foreground (Ctrl-C or SIGTERM stops it)") { config, taps, name, control, stats, cpus, pollers, logLevel };
        run.SetAction(result =>
        {
            if (Environment.GetEnvironmentVariable(YoungGenerationBudgetVariable) is null)
            {
                ProcessImage.RestartWith(YoungGenerationBudgetVariable, YoungGenerationBudget);
            }

            using var loggerFactory = Logging.Create(result.GetValue(logLevel));
            var logger = loggerFactory.CreateLogger("userbridge");
            try
            {
                SwitchConfig Load() => BuildConfig(result.GetValue(config), result.GetValue(taps) ?? [], result.GetValue(name), result.GetValue(control), result.GetValue(cpus), result.GetValue(pollers));
                var switchConfig = Load();
                if (switchConfig.Ports.Count == 0 && result.GetValue(config) is null)
                {
                    Console.Error.WriteLine("userbridge run: no ports; give --tap IFNAME, or a --config file (its ports, or none: then add them with `userbridge port add`)");
                    return ExitCodes.BadUsage;
                }

                return Run(switchConfig, logger, result.GetValue(stats), result.GetValue(config) is null ? null : Load);
            }
            catch (ConfigException ex)
            {
                Console.Error.WriteLine(ex.Message);
                return ExitCodes.BadUsage;
            }
            catch (Exception ex) when (ex is InteropException or ManagementException or ArgumentException or CaptureException or IncompleteRollbackException or InvalidOperationException)
            {
                // What the config asks but the machine refuses (a TAP, a capture file, the metrics address): the error and
                // its cause, no stack trace.
                var cause = ex.InnerException is { } inner && !ex.Message.Contains(inner.Message, StringComparison.Ordinal) ? $" ({inner.Message})" : string.Empty;
                Console.Error.WriteLine($"userbridge run: {ex.Message}{cause}");
                return ExitCodes.Failure;
            }
        });
        return run;
    }

    private static SwitchConfig BuildConfig(FileInfo? file, string[] taps, string? name, string? control, string? cpuList, int? pollers)
    {
        var config = file is null ? new SwitchConfig() : ConfigLoader.LoadFile(file.FullName);
        var errors = new List<string>();
        if (pollers is { } pollerCount)
        {
            config = config with { Pollers = pollerCount };
        }

        if (cpuList is not null)
        {
            if (ConfigValues.TryParseCpus(cpuList, out var cpus))
            {
                config = config with { Cpus = cpus };
            }
            else
            {
                errors.Add($"--cpus {cpuList}: use {ConfigValues.CpusHelp} of the {Environment.ProcessorCount} CPUs of this machine");
            }
        }

        if (name is not null && !ConfigValues.IsValidName(name))
        {
            errors.Add($"--name {name}: use {ConfigValues.NameHelp}");
        }

        foreach (var tap in taps)
        {
            if (!ConfigValues.IsValidInterfaceName(tap))
            {
                errors.Add($"--tap {tap}: use {ConfigValues.InterfaceHelp}");
            }
        }

        if (errors.Count > 0)
        {
            throw new ConfigException(errors);
        }

        config = config with
        {
            Name = name ?? config.Name,
            Control = control ?? config.Control,
            Ports = [.. config.Ports, .. taps.Select(tap => PortConfig.Tap(tap))],
        };
        var problems = ConfigLoader.Validate(config, file?.FullName ?? "command line");
        return problems.Count > 0 ? throw new ConfigException(problems) : config;
    }

    private static int Run(SwitchConfig config, ILogger logger, int statsSeconds, Func<SwitchConfig>? reload)
    {
        using var signals = new ShutdownSignals();
        var systemd = new SystemdNotifier();
        using (var host = SwitchHost.Start(config, logger, Console.WriteLine, reload))
        using (PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
        {
            context.Cancel = true;
            ThreadPool.QueueUserWorkItem(_ => ReloadOnSignal(host), null);
        }))
        {
            // Every port of the config is open (or, for a VM's port, waiting for the VM): systemd may start what needs the switch.
            Notify(systemd, ServiceState.Ready);
            var period = statsSeconds > 0 ? TimeSpan.FromSeconds(statsSeconds) : Timeout.InfiniteTimeSpan;
            var last = host.SummaryLine();
            Notify(systemd, new ServiceState($"STATUS={last}"));
            while (!signals.Token.WaitHandle.WaitOne(period))
            {
                var line = host.SummaryLine();
                if (line != last)
                {
                    Console.WriteLine(line);
                    Notify(systemd, new ServiceState($"STATUS={line}"));
                    last = line;
                }
            }

            Notify(systemd, ServiceState.Stopping);
            Console.WriteLine($"switch {config.Name} stopping");
        }

        Console.WriteLine($"switch {config.Name} stopped");
        return ExitCodes.Success;
    }

    /// <summary>Tells systemd (<c>Type=notify</c>, through <c>NOTIFY_SOCKET</c>) the service's state; nothing elsewhere.</summary>
    private static void Notify(SystemdNotifier systemd, ServiceState state)
    {
        if (systemd.IsEnabled)
        {
            systemd.Notify(state);
        }
    }

    /// <summary>
    /// SIGHUP: re-read the config file as <c>userbridge reload</c> does, and say what happened. It runs on a thread-pool
    /// thread, where an exception would end the process: every one short of running out of memory is reported instead
    /// (the reload path words it already, as "reload refused, ...").
    /// </summary>
    private static void ReloadOnSignal(SwitchHost host)
    {
        try
        {
            var changes = host.Reload();
            Console.WriteLine($"reload: {(changes.Count == 0 ? "nothing changed" : string.Join("; ", changes))}");
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Console.Error.WriteLine(ex is ManagementException ? ex.Message : $"reload refused: {ex.Message}");
        }
    }
}
