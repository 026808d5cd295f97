using Microsoft.Extensions.Logging;

namespace PgArchive.Diagnostics;

/// <summary>Every log message of PgArchive.Core. None carries a secret: no connection string, no key.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "Archived {WalFile} as {Key} ({StoredBytes} bytes stored)")]
    public static partial void WalPushed(ILogger logger, string walFile, string key, long storedBytes);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Information, Message = "{WalFile} is already archived with identical content")]
    public static partial void WalAlreadyArchived(ILogger logger, string walFile);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Information, Message = "Fetched {WalFile} from {Key}")]
    public static partial void WalFetched(ILogger logger, string walFile, string key);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Debug, Message = "{WalFile} is not in the archive")]
    public static partial void WalNotFound(ILogger logger, string walFile);

    [LoggerMessage(EventId = 2001, Level = LogLevel.Information, Message = "Backup {BackupName} started at LSN {StartLsn} on timeline {Timeline}")]
    public static partial void BackupStarted(ILogger logger, string backupName, string startLsn, uint timeline);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Information, Message = "Uploaded {Key}: {Files} files, {TarBytes} tar bytes, {StoredBytes} bytes stored")]
    public static partial void PartitionUploaded(ILogger logger, string key, int files, long tarBytes, long storedBytes);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Information, Message = "Backup {BackupName} finished at LSN {FinishLsn}: {UncompressedBytes} bytes read, {CompressedBytes} bytes stored")]
    public static partial void BackupFinished(ILogger logger, string backupName, string finishLsn, long uncompressedBytes, long compressedBytes);

    [LoggerMessage(EventId = 2008, Level = LogLevel.Information, Message = "Read {DirectBytes} of the {FileBytes} file bytes from the disk with O_DIRECT, the rest through the page cache")]
    public static partial void BackupReadDirectly(ILogger logger, long directBytes, long fileBytes);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Warning, Message = "{Path} vanished during the backup; WAL replay recreates what is needed")]
    public static partial void FileVanished(ILogger logger, string path);

    [LoggerMessage(EventId = 2005, Level = LogLevel.Warning, Message = "Page checksum verification failed in {Path}: {Count} corrupt blocks ({Blocks})")]
    public static partial void CorruptPages(ILogger logger, string path, string blocks, int count);

    [LoggerMessage(EventId = 2006, Level = LogLevel.Warning, Message = "Backup {BackupName} holds {Blocks} corrupt blocks in {Files} files; they are listed in its files_metadata.json")]
    public static partial void CorruptPagesFound(ILogger logger, string backupName, int blocks, int files);

    [LoggerMessage(EventId = 2007, Level = LogLevel.Warning, Message = "data_checksums is off in this cluster: page checksums cannot be verified")]
    public static partial void PageChecksumsUnavailable(ILogger logger);

    [LoggerMessage(EventId = 2020, Level = LogLevel.Warning,
        Message = "Still waiting after {Seconds} s for PostgreSQL to archive WAL file {WalFile}, which the backup needs: check archive_command and pg_stat_archiver")]
    public static partial void WaitingForArchive(ILogger logger, string walFile, int seconds);

    [LoggerMessage(EventId = 2021, Level = LogLevel.Warning,
        Message = "Still waiting after {Seconds} s for WAL file {WalFile} to be in the archive, which the backup taken on a standby needs: the primary archives it " +
                  "once it finishes the segment (archive_timeout, or pg_switch_wal() on the primary), or the standby with archive_mode = always; check both archive_commands")]
    public static partial void WaitingForStandbyWal(ILogger logger, string walFile, int seconds);

    [LoggerMessage(EventId = 2101, Level = LogLevel.Warning, Message = "{Reason} Taking a full backup instead, as asked")]
    public static partial void DeltaFallBackToFull(ILogger logger, string reason);

    [LoggerMessage(EventId = 2102, Level = LogLevel.Information, Message = "No delta backup: {Reason}. Taking a full backup, as WAL-G does")]
    public static partial void DeltaNotTaken(ILogger logger, string reason);

    [LoggerMessage(EventId = 2103, EventName = "DeltaBlockSourceSummaries", Level = LogLevel.Information,
        Message = "Delta {BackupName}: reading only the blocks PostgreSQL's WAL summaries name since the base's start {BaseLsn} ({Blocks} blocks in {Forks} relation forks, {MapBytes} bytes of map)")]
    public static partial void DeltaUsesWalSummaries(ILogger logger, string backupName, string baseLsn, long blocks, int forks, long mapBytes);

    [LoggerMessage(EventId = 2106, EventName = "DeltaBlockSourceWalBlockMaps", Level = LogLevel.Information,
        Message = "Delta {BackupName}: reading only the blocks the WAL block maps name since the base's start {BaseLsn} ({Blocks} blocks in {Forks} relation forks)")]
    public static partial void DeltaUsesWalBlockMaps(ILogger logger, string backupName, string baseLsn, long blocks, int forks);

    [LoggerMessage(EventId = 2104, EventName = "DeltaBlockSourceScan", Level = LogLevel.Information,
        Message = "Delta {BackupName}: scanning every page of the relation files for changes, not reading WAL summaries: {Reason}")]
    public static partial void DeltaScansPages(ILogger logger, string backupName, string reason);

    [LoggerMessage(EventId = 2105, EventName = "DeltaBlocksRead", Level = LogLevel.Information,
        Message = "Delta {BackupName} ({Source}): {Files} relation files stored as increments of {Pages} pages, {BlocksRead} of their {FileBlocks} blocks read")]
    public static partial void DeltaBlocksRead(ILogger logger, string backupName, string source, int files, long pages, long blocksRead, long fileBlocks);

    [LoggerMessage(EventId = 2110, Level = LogLevel.Information, Message = "Backup {BackupName} is taken without files_metadata.json, as asked: restore cannot check its files against recorded checksums")]
    public static partial void FilesMetadataLeftOut(ILogger logger, string backupName);

    [LoggerMessage(EventId = 2201, Level = LogLevel.Information, Message = "Resuming from the interrupted backup {PreviousBackup}: {Reusable} of its {Partitions} tar partitions hold only files unchanged since they were read")]
    public static partial void ResumeFound(ILogger logger, string previousBackup, int reusable, int partitions);

    [LoggerMessage(EventId = 2202, Level = LogLevel.Information, Message = "Nothing to resume: {Reason}; every file is read")]
    public static partial void ResumeNotPossible(ILogger logger, string reason);

    [LoggerMessage(EventId = 2203, Level = LogLevel.Information, Message = "{Key} is not reused: {Reason}")]
    public static partial void PartitionNotReused(ILogger logger, string key, string reason);

    [LoggerMessage(EventId = 2204, Level = LogLevel.Information, Message = "Reused {Key} as {ObjectName}: {Files} files, {StoredBytes} bytes stored")]
    public static partial void PartitionReused(ILogger logger, string key, string objectName, int files, long storedBytes);

    [LoggerMessage(EventId = 2205, Level = LogLevel.Information, Message = "Backup {BackupName} resumed: {ReusedPartitions} tar partitions ({ReusedBytes} bytes stored) reused from {PreviousBackup}, {WrittenPartitions} read and written ({WrittenBytes} bytes stored, with pg_control and backup_label)")]
    public static partial void BackupResumed(ILogger logger, string backupName, int reusedPartitions, long reusedBytes, string previousBackup, int writtenPartitions, long writtenBytes);

    [LoggerMessage(EventId = 2206, Level = LogLevel.Warning, Message = "The progress record of {BackupName} could not be removed (harmless: the backup is complete): {Reason}")]
    public static partial void ProgressNotRemoved(ILogger logger, string backupName, string reason);

    [LoggerMessage(EventId = 3201, Level = LogLevel.Warning, Message = "Backup {BackupName} cannot be read and is left out (retention keeps it): {Reason}")]
    public static partial void BackupUnreadable(ILogger logger, string backupName, string reason);

    [LoggerMessage(EventId = 3202, Level = LogLevel.Warning, Message = "Backup {BackupName} cannot be restored: {Problem}")]
    public static partial void BackupChainBroken(ILogger logger, string backupName, string problem);

    [LoggerMessage(EventId = 3101, EventName = "DeltaChain", Level = LogLevel.Information, Message = "Backup {BackupName} is a delta: restoring the chain {Chain}")]
    public static partial void DeltaChainRestoring(ILogger logger, string backupName, string chain);

    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "Restoring backup {BackupName} into {TargetDirectory}")]
    public static partial void FetchStarted(ILogger logger, string backupName, string targetDirectory);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Information, Message = "Extracted {Key}")]
    public static partial void PartitionExtracted(ILogger logger, string key);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Information, Message = "Backup {BackupName} restored: {Files} files, {Bytes} bytes")]
    public static partial void FetchFinished(ILogger logger, string backupName, long files, long bytes);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Debug, Message = "Restored files flushed to disk in {Milliseconds} ms")]
    public static partial void RestoreFlushed(ILogger logger, long milliseconds);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Information, Message = "Recovery configured in {ConfigFile}: {Settings}")]
    public static partial void RecoveryConfigured(ILogger logger, string configFile, string settings);

    [LoggerMessage(EventId = 3030, Level = LogLevel.Information,
        Message = "Skipped {Key}: none of its files is still to restore (written whole by a newer backup, deleted since, or not asked for), --skip-redundant-tars")]
    public static partial void PartitionSkipped(ILogger logger, string key);

    [LoggerMessage(EventId = 3010, Level = LogLevel.Warning, Message = "Skipped {Member} in {Key}: backup-fetch writes that name itself and never takes it from an archive")]
    public static partial void OwnNameSkipped(ILogger logger, string member, string key);

    [LoggerMessage(EventId = 3011, Level = LogLevel.Warning, Message = "{Directory} held an interrupted restore ({Marker}): its contents are deleted to restore again")]
    public static partial void InterruptedRestoreCleared(ILogger logger, string directory, string marker);

    [LoggerMessage(EventId = 4001, Level = LogLevel.Information, Message = "delete {Request}: {Objects} objects deleted, {Backups} backups among them")]
    public static partial void RetentionExecuted(ILogger logger, string request, int objects, int backups);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Information, Message = "Verified backup {BackupName}: {Files} files in {Partitions} tar partitions, {Problems} problems")]
    public static partial void BackupVerified(ILogger logger, string backupName, int files, int partitions, int problems);
}
