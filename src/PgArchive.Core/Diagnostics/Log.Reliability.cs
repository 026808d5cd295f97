using Microsoft.Extensions.Logging;

namespace PgArchive.Diagnostics;

/// <summary>Log messages of retries, resume and the restore drill (event ids 9xxx).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 9001, EventName = "StoreRetry", Level = LogLevel.Warning, Message = "Retry {Attempt} of {MaxAttempts} in {DelaySeconds:0.00} s after a transient storage failure: {Reason}")]
    public static partial void StoreRetrying(ILogger logger, int attempt, int maxAttempts, double delaySeconds, string reason);

    [LoggerMessage(EventId = 9002, Level = LogLevel.Warning, Message = "Resuming the read of {Key} at byte {Offset} after a transient failure: {Reason}")]
    public static partial void ReadResumed(ILogger logger, string key, long offset, string reason);

    [LoggerMessage(EventId = 9101, Level = LogLevel.Information, Message = "Restore drill: {BackupName} fetched into {Directory} in {Seconds:0.0} s")]
    public static partial void DrillFetched(ILogger logger, string backupName, string directory, double seconds);

    [LoggerMessage(EventId = 9102, Level = LogLevel.Information, Message = "Restore drill: PostgreSQL started, PID {Pid}, port {Port}")]
    public static partial void DrillServerStarted(ILogger logger, int pid, int port);

    [LoggerMessage(EventId = 9103, Level = LogLevel.Information, Message = "Restore drill: {BackupName} recovered in {Seconds:0.0} s, last replayed commit {LastReplayed}")]
    public static partial void DrillRecovered(ILogger logger, string backupName, double seconds, string lastReplayed);

    [LoggerMessage(EventId = 9104, Level = LogLevel.Information, Message = "Restore drill: database {Database}: {Tables} tables, {Rows} rows, {Indexes} btree indexes checked")]
    public static partial void DrillDatabaseChecked(ILogger logger, string database, int tables, long rows, int indexes);
}
