using Microsoft.Extensions.Logging;

namespace PgArchive.Diagnostics;

/// <summary>Log messages of retries, resume and the restore drill (event ids 9xxx).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 9001, Level = LogLevel.Warning, Message = "Retry {Attempt} of {MaxAttempts} in {DelaySeconds:0.00} s after a transient storage failure: {Reason}")]
    public static partial void StoreRetry(ILogger logger, int attempt, int maxAttempts, double delaySeconds, string reason);

    [LoggerMessage(EventId = 9002, Level = LogLevel.Warning, Message = "Resuming the read of {Key} at byte {Offset} after a transient failure: {Reason}")]
    public static partial void ReadResumed(ILogger logger, string key, long offset, string reason);
}
