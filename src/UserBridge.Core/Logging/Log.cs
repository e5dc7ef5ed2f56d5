using Microsoft.Extensions.Logging;

namespace UserBridge.Core.Logging;

internal static partial class Log
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Debug, Message = "port {Port} up ({Type} {Interface}, index {Index})")]
    public static partial void PortUp(ILogger logger, string port, string type, string @interface, int index);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "port {Port} removed{Suppressed}")]
    public static partial void PortRemoved(ILogger logger, string port, string suppressed);

    [LoggerMessage(EventId = 3, Level = LogLevel.Error, Message = "port {Port} failed and is down: {Reason}")]
    public static partial void PortFailed(ILogger logger, string port, string reason);

    [LoggerMessage(EventId = 4, Level = LogLevel.Critical, Message = "worker of port {Port} crashed; {Action}")]
    public static partial void WorkerCrashed(ILogger logger, string port, string action, Exception exception);

    [LoggerMessage(EventId = 5, Level = LogLevel.Warning, Message = "worker of port {Port} did not stop within {Timeout}")]
    public static partial void WorkerStuck(ILogger logger, string port, TimeSpan timeout);

    [LoggerMessage(EventId = 7, Level = LogLevel.Warning, Message = "forwarding thread {Thread}: its start-up hook failed, it runs without it: {Reason}")]
    public static partial void WorkerStartingFailed(ILogger logger, string? thread, string reason);

    [LoggerMessage(EventId = 6, Level = LogLevel.Debug, Message = "aged out {Count} MAC entries")]
    public static partial void Aged(ILogger logger, int count);

    [LoggerMessage(EventId = 8, Level = LogLevel.Warning, Message = "port {Port} shut down: {Reason}; bring it back with: userbridge port set {Port} --up")]
    public static partial void PortShutDown(ILogger logger, string port, string reason);

    [LoggerMessage(EventId = 9, Level = LogLevel.Error, Message = "the control inbox was full ({Capacity} notices): {Count} port failures or guard trips were not delivered; a failed port among them stays listed up, unserved, until removed")]
    public static partial void NoticesRefused(ILogger logger, long count, int capacity);
}
