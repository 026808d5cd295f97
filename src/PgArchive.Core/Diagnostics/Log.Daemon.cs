using Microsoft.Extensions.Logging;

namespace PgArchive.Diagnostics;

// daemon: wal-push and wal-fetch served over a Unix domain socket in WAL-G's daemon protocol (WalDaemon).
internal static partial class Log
{
    [LoggerMessage(EventId = 1201, Level = LogLevel.Information, Message = "Daemon listening on {SocketPath} ({MaxRequests} requests at once)")]
    public static partial void DaemonListening(ILogger logger, string socketPath, int maxRequests);

    [LoggerMessage(EventId = 1202, Level = LogLevel.Information, Message = "Daemon stopping: no new connections; finishing {Requests} requests in progress")]
    public static partial void DaemonStopping(ILogger logger, int requests);

    [LoggerMessage(EventId = 1203, Level = LogLevel.Information, Message = "Daemon stopped; {SocketPath} removed")]
    public static partial void DaemonStopped(ILogger logger, string socketPath);

    [LoggerMessage(EventId = 1204, Level = LogLevel.Warning, Message = "Daemon request {Request} failed: {Reason}")]
    public static partial void DaemonRequestFailed(ILogger logger, string request, string reason);

    [LoggerMessage(EventId = 1205, Level = LogLevel.Warning, Message = "Daemon connection dropped: {Reason}")]
    public static partial void DaemonConnectionDropped(ILogger logger, string reason);

    [LoggerMessage(EventId = 1206, Level = LogLevel.Debug, Message = "Daemon request {Request} answered {Reply}")]
    public static partial void DaemonAnswered(ILogger logger, string request, char reply);

    [LoggerMessage(EventId = 1208, Level = LogLevel.Debug, Message = "Daemon request {Request}: {Reason}")]
    public static partial void DaemonNotInArchive(ILogger logger, string request, string reason);

    [LoggerMessage(EventId = 1207, Level = LogLevel.Warning, Message = "Accepting a daemon connection failed: {Reason}")]
    public static partial void DaemonAcceptFailed(ILogger logger, string reason);
}
