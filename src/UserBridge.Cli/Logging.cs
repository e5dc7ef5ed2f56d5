using System.CommandLine;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace UserBridge.Cli;

/// <summary>Console logging to standard error, one line per message, so standard output stays for results.</summary>
internal static class Logging
{
    public static Option<LogLevel> LevelOption() => new("--log-level")
    {
        Description = "Trace, Debug, Information, Warning, Error or Critical",
        DefaultValueFactory = _ => LogLevel.Information,
    };

    public static ILoggerFactory Create(LogLevel level) => LoggerFactory.Create(builder => builder
        .SetMinimumLevel(level)
        .AddSimpleConsole(options =>
        {
            options.SingleLine = true;
            options.TimestampFormat = "HH:mm:ss ";
            options.ColorBehavior = LoggerColorBehavior.Disabled;
        })
        .AddConsole(options => options.LogToStandardErrorThreshold = LogLevel.Trace));
}
