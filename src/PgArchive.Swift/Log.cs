using Microsoft.Extensions.Logging;

namespace PgArchive.Storage;

/// <summary>The Swift store's log messages: keys, containers and URLs only, never tokens or passwords.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 4200, EventName = "SwiftRetrying", Level = LogLevel.Debug,
        Message = "Swift request failed ({Reason}); retry {Attempt} in {DelayMs} ms")]
    public static partial void Retrying(ILogger logger, int attempt, double delayMs, string reason);

    [LoggerMessage(EventId = 4201, EventName = "SwiftReauthenticating", Level = LogLevel.Information,
        Message = "Swift answered 401: authenticating again at {AuthUrl}")]
    public static partial void Reauthenticating(ILogger logger, string authUrl);

    [LoggerMessage(EventId = 4202, EventName = "SwiftSegmentCleanupFailed", Level = LogLevel.Warning,
        Message = "Could not delete {Count} segments of {Key} ({Kind}); they stay in the segment container")]
    public static partial void SegmentCleanupFailed(ILogger logger, string key, int count, string kind);

    [LoggerMessage(EventId = 4203, EventName = "SwiftReadResumed", Level = LogLevel.Warning,
        Message = "The download of {Key} broke off after {Offset} bytes ({Reason}); reading on from there")]
    public static partial void ReadResumed(ILogger logger, string key, long offset, string reason);
}
