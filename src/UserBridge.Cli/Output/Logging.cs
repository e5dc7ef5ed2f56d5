using System.CommandLine;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace UserBridge.Cli.Output;

/// <summary>
/// Console logging to standard error, one line per message, so standard output stays for results. Under systemd (which
/// sets <c>JOURNAL_STREAM</c> for a service whose output goes to the journal) lines carry a <c>&lt;N&gt;</c> syslog
/// priority and no timestamp, so the journal records each message at its level and stamps it itself.
/// </summary>
internal static class Logging
{
    public static bool ToJournal => Environment.GetEnvironmentVariable("JOURNAL_STREAM") is { Length: > 0 };

    public static Option<LogLevel> LevelOption() => new("--log-level")
    {
        Description = "Trace, Debug, Information, Warning, Error or Critical",
        DefaultValueFactory = _ => LogLevel.Information,
    };

    public static ILoggerFactory Create(LogLevel level) => LoggerFactory.Create(builder =>
    {
        builder.SetMinimumLevel(level);
        if (ToJournal)
        {
            builder.AddSystemdConsole();
        }
        else
        {
            builder.AddSimpleConsole(options =>
            {
                options.SingleLine = true;
                options.TimestampFormat = "HH:mm:ss ";
                options.ColorBehavior = LoggerColorBehavior.Disabled;
            });
        }

        builder.AddConsole(options => options.LogToStandardErrorThreshold = LogLevel.Trace);
    });
}
