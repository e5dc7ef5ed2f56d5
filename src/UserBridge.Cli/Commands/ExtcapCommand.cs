using System.CommandLine;
using System.Diagnostics;
using System.Text.Json.Nodes;
using UserBridge.Control.Management;
using UserBridge.Control.Runtime;

namespace UserBridge.Cli.Commands;

/// <summary>
/// The Wireshark extcap: <c>userbridge extcap install</c> puts a small launcher into Wireshark's extcap folder; then
/// Wireshark (and <c>tshark -D</c>) lists every running switch ("ub0: all ports") and each of its ports, and
/// captures them through the extcap protocol (<c>--extcap-interfaces</c>, <c>--extcap-dlts</c>,
/// <c>--extcap-config</c>, <c>--capture --fifo</c>), ending on SIGTERM.
/// </summary>
internal static class ExtcapCommand
{
    private const string InterfacePrefix = "userbridge:";
    private const string LauncherName = "userbridge-extcap";

    public static Command Create()
    {
        var extcap = new Command("extcap", "the Wireshark extcap: Wireshark runs it with --extcap-* arguments to list and capture switches")
        {
            TreatUnmatchedTokensAsErrors = false,
        };
        extcap.SetAction(result => Run(result.UnmatchedTokens));
        extcap.Subcommands.Add(CreateInstall());
        extcap.Subcommands.Add(CreateUninstall());
        return extcap;
    }

    private static Command CreateInstall()
    {
        var dir = new Option<string?>("--dir") { Description = "the extcap folder (default: Wireshark's personal one, else its global one, from tshark -G folders)" };
        var install = new Command("install", "install the extcap launcher into Wireshark's extcap folder") { dir };
        install.SetAction(result =>
        {
            var folder = result.GetValue(dir) ?? ExtcapFolder();
            if (folder is null)
            {
                return ExitCodes.Failure;
            }

            var launcher = Path.Combine(folder, LauncherName);
            try
            {
                Directory.CreateDirectory(folder);
                File.WriteAllText(launcher, LauncherScript());
                File.SetUnixFileMode(launcher, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"userbridge extcap install: {launcher}: {ex.Message} (run it with sudo, or give --dir)");
                return ExitCodes.Failure;
            }

            Console.WriteLine($"installed {launcher}; restart Wireshark, or check with: tshark -D | grep UserBridge");
            return ExitCodes.Success;
        });
        return install;
    }

    private static Command CreateUninstall()
    {
        var dir = new Option<string?>("--dir") { Description = "the extcap folder it was installed into" };
        var uninstall = new Command("uninstall", "remove the extcap launcher") { dir };
        uninstall.SetAction(result =>
        {
            var folder = result.GetValue(dir) ?? ExtcapFolder();
            if (folder is null)
            {
                return ExitCodes.Failure;
            }

            var launcher = Path.Combine(folder, LauncherName);
            if (!File.Exists(launcher))
            {
                Console.Error.WriteLine($"userbridge extcap uninstall: {launcher} is not installed");
                return ExitCodes.Failure;
            }

            File.Delete(launcher);
            Console.WriteLine($"removed {launcher}");
            return ExitCodes.Success;
        });
        return uninstall;
    }

    /// <summary>A shell launcher that runs this very program (the apphost, or dotnet with this assembly).</summary>
    private static string LauncherScript()
    {
        var process = Environment.ProcessPath ?? "userbridge";
        var command = Path.GetFileNameWithoutExtension(process) == "dotnet"
            ? $"'{process}' '{typeof(ExtcapCommand).Assembly.Location}'"
            : $"'{process}'";
        return $"#!/bin/sh\n# Installed by `userbridge extcap install`: Wireshark runs it to list and capture UserBridge switches.\nexec {command} extcap \"$@\"\n";
    }

    /// <summary>Wireshark's personal extcap folder when it has one (4.2+), else its global one, as tshark reports them.</summary>
    private static string? ExtcapFolder()
    {
        string output;
        try
        {
            using var tshark = Process.Start(new ProcessStartInfo("tshark", "-G folders") { RedirectStandardOutput = true, RedirectStandardError = true })!;
            output = tshark.StandardOutput.ReadToEnd();
            tshark.WaitForExit();
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            Console.Error.WriteLine($"userbridge extcap install: cannot run tshark to find Wireshark's extcap folder ({ex.Message}); install tshark or give --dir");
            return null;
        }

        var folders = output.Split('\n')
            .Select(line => line.Split(':', 2))
            .Where(parts => parts.Length == 2)
            .DistinctBy(parts => parts[0].Trim(), StringComparer.Ordinal)
            .ToDictionary(parts => parts[0].Trim(), parts => parts[1].Trim(), StringComparer.Ordinal);
        if (folders.TryGetValue("Personal Extcap path", out var personal) || folders.TryGetValue("Extcap path", out personal))
        {
            return personal;
        }

        Console.Error.WriteLine("userbridge extcap install: tshark -G folders names no extcap folder; give --dir");
        return null;
    }

    /// <summary>The extcap protocol: Wireshark's arguments in, its line format out.</summary>
    private static int Run(IReadOnlyList<string> tokens)
    {
        var arguments = Arguments.Parse(tokens);
        if (arguments.Has("--extcap-interfaces"))
        {
            Console.WriteLine($"extcap {{version={ManagementVerbs.Version}}}{{display=UserBridge switches and their ports}}");
            foreach (var (name, controlPath) in SwitchRegistry.Running())
            {
                Console.WriteLine($"interface {{value={InterfacePrefix}{name}}}{{display=UserBridge {name}: all ports}}");
                foreach (var portName in Ports(controlPath))
                {
                    Console.WriteLine($"interface {{value={InterfacePrefix}{name}:{portName}}}{{display=UserBridge {name}: port {portName}}}");
                }
            }

            return ExitCodes.Success;
        }

        var (switchName, port) = ParseInterface(arguments.Value("--extcap-interface"));
        if (switchName is null)
        {
            Console.Error.WriteLine("userbridge extcap: --extcap-interface userbridge:SWITCH[:PORT] is required");
            return ExitCodes.BadUsage;
        }

        if (arguments.Has("--extcap-dlts"))
        {
            Console.WriteLine("dlt {number=1}{name=EN10MB}{display=Ethernet}");
            return ExitCodes.Success;
        }

        if (arguments.Has("--extcap-config"))
        {
            Console.WriteLine($"arg {{number=0}}{{call=--ports}}{{display=Ports}}{{type=string}}{{default={port ?? string.Empty}}}{{tooltip=Comma-separated port names; empty: every port}}");
            Console.WriteLine("arg {number=1}{call=--direction}{display=Direction}{type=selector}{tooltip=Frames received, sent, or both}");
            Console.WriteLine("value {arg=1}{value=both}{display=Both}{default=true}");
            Console.WriteLine("value {arg=1}{value=in}{display=In (received)}{default=false}");
            Console.WriteLine("value {arg=1}{value=out}{display=Out (sent)}{default=false}");
            Console.WriteLine("arg {number=2}{call=--filter}{display=BPF filter}{type=string}{tooltip=tcpdump syntax, applied in the switch}");
            Console.WriteLine("arg {number=3}{call=--include-drops}{display=Include dropped frames}{type=boolflag}{default=false}{tooltip=Capture frames the switch dropped, with the reason}");
            return ExitCodes.Success;
        }

        if (arguments.Has("--capture"))
        {
            return Capture(switchName, port, arguments);
        }

        Console.Error.WriteLine("userbridge extcap: expected --extcap-interfaces, --extcap-dlts, --extcap-config or --capture");
        return ExitCodes.BadUsage;
    }

    private static int Capture(string switchName, string? port, Arguments arguments)
    {
        var fifo = arguments.Value("--fifo");
        var controlPath = SwitchRegistry.Running().FirstOrDefault(entry => entry.Name == switchName).ControlPath;
        if (fifo is null || controlPath is null)
        {
            Console.Error.WriteLine(fifo is null ? "userbridge extcap: --capture needs --fifo" : $"userbridge extcap: no running switch named '{switchName}'");
            return ExitCodes.Failure;
        }

        var ports = (arguments.Value("--ports") ?? port ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var filters = new[] { arguments.Value("--filter"), arguments.Value("--extcap-capture-filter") }.Where(filter => !string.IsNullOrWhiteSpace(filter)).ToList();
        var args = new JsonObject { ["direction"] = arguments.Value("--direction") ?? "both" };
        if (ports.Length > 0)
        {
            args["ports"] = new JsonArray([.. ports.Select(name => JsonValue.Create(name))]);
        }

        if (filters.Count > 0)
        {
            args["filter"] = string.Join(" and ", filters.Select(filter => $"({filter})"));
        }

        if (arguments.Has("--include-drops"))
        {
            args["include_drops"] = true;
        }

        // The same stream as `userbridge capture -w FIFO`; Wireshark's SIGTERM ends it with the statistics.
        return CaptureCommand.WriteTo(controlPath, args, fifo);
    }

    private static List<string> Ports(string controlPath)
    {
        try
        {
            return ((JsonArray)ManagementClient.Call(controlPath, "port show")).Select(row => (string?)row?["name"]).OfType<string>().ToList();
        }
        catch (ManagementException)
        {
            return [];
        }
    }

    private static (string? Switch, string? Port) ParseInterface(string? value)
    {
        if (value is null || !value.StartsWith(InterfacePrefix, StringComparison.Ordinal))
        {
            return (null, null);
        }

        var parts = value[InterfacePrefix.Length..].Split(':', 2);
        return (parts[0], parts.Length == 2 ? parts[1] : null);
    }

    /// <summary>Wireshark passes <c>--name value</c> and <c>--name=value</c>, and flags alone.</summary>
    private sealed class Arguments
    {
        private readonly Dictionary<string, string?> _values = new(StringComparer.Ordinal);

        public static Arguments Parse(IReadOnlyList<string> tokens)
        {
            var parsed = new Arguments();
            for (var i = 0; i < tokens.Count; i++)
            {
                var token = tokens[i];
                if (!token.StartsWith("--", StringComparison.Ordinal))
                {
                    continue;
                }

                var equals = token.IndexOf('=', StringComparison.Ordinal);
                if (equals > 0)
                {
                    parsed._values[token[..equals]] = token[(equals + 1)..];
                }
                else if (i + 1 < tokens.Count && !tokens[i + 1].StartsWith("--", StringComparison.Ordinal))
                {
                    parsed._values[token] = tokens[++i];
                }
                else
                {
                    parsed._values[token] = null;
                }
            }

            return parsed;
        }

        public bool Has(string name) => _values.ContainsKey(name);

        public string? Value(string name) => _values.GetValueOrDefault(name);
    }
}
