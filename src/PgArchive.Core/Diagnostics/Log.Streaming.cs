using Microsoft.Extensions.Logging;

namespace PgArchive.Diagnostics;

/// <summary>Log messages of wal-receive and of base backups over the replication protocol.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 9301, Level = LogLevel.Information, Message = "Received segment {WalFile} stored as {Key} ({StoredBytes} bytes stored)")]
    public static partial void ReceivedSegmentStored(ILogger logger, string walFile, string key, long storedBytes);

    [LoggerMessage(EventId = 9302, Level = LogLevel.Information, Message = "Timeline history {WalFile} stored as {Key}")]
    public static partial void ReceivedHistoryStored(ILogger logger, string walFile, string key);

    [LoggerMessage(EventId = 9303, Level = LogLevel.Information, Message = "Streaming WAL from {Endpoint}: timeline {Timeline} from {StartLsn}, slot {Slot}")]
    public static partial void StreamingStarted(ILogger logger, string endpoint, uint timeline, string startLsn, string slot);

    [LoggerMessage(EventId = 9304, Level = LogLevel.Information, Message = "Timeline {Timeline} ended at {SwitchLsn}; following timeline {NextTimeline}")]
    public static partial void TimelineEnded(ILogger logger, uint timeline, string switchLsn, uint nextTimeline);

    [LoggerMessage(EventId = 9305, Level = LogLevel.Warning, Message = "WAL streaming stopped: {Reason}; reconnecting in {Seconds:0.#} s")]
    public static partial void StreamingInterrupted(ILogger logger, string reason, double seconds);

    [LoggerMessage(EventId = 9306, Level = LogLevel.Information, Message = "Created physical replication slot {Slot}")]
    public static partial void SlotCreated(ILogger logger, string slot);

    [LoggerMessage(EventId = 9307, Level = LogLevel.Warning, Message = "Streaming without a replication slot: WAL the server recycles while wal-receive is not connected will be missing from the archive")]
    public static partial void StreamingWithoutSlot(ILogger logger);

    [LoggerMessage(EventId = 9308, Message = "PostgreSQL {Severity}: {Message}")]
    private static partial void ServerNotice(ILogger logger, LogLevel level, string severity, string message);

    /// <summary>A NoticeResponse: a WARNING (a page checksum failure during BASE_BACKUP) as a warning, anything else as information.</summary>
    public static void ServerNotice(ILogger logger, string severity, string message) =>
        ServerNotice(logger, severity == "WARNING" ? LogLevel.Warning : LogLevel.Information, severity, message);

    [LoggerMessage(EventId = 9309, Level = LogLevel.Debug, Message = "Stored {WalFile}.partial up to {Lsn}")]
    public static partial void PartialStored(ILogger logger, string walFile, string lsn);

    [LoggerMessage(EventId = 9310, Level = LogLevel.Information, Message = "Remote backup {BackupName}: archive {Archive} ({Location})")]
    public static partial void RemoteArchiveStarted(ILogger logger, string backupName, string archive, string location);

    [LoggerMessage(EventId = 9311, Level = LogLevel.Warning, Message = "Remote backup: {Member} is a {Type} entry in the server's archive and is left out")]
    public static partial void RemoteEntrySkipped(ILogger logger, string member, string type);

    [LoggerMessage(EventId = 9312, Level = LogLevel.Warning, Message = "{Key} is not used for {WalFile}: a later timeline in the archive branched off before the segment's end")]
    public static partial void PartialNotUsed(ILogger logger, string key, string walFile);
}
