namespace PgArchive.Storage;

/// <summary>The keys WAL-G uses for PostgreSQL, relative to the storage prefix.</summary>
internal static class ArchiveLayout
{
    /// <summary>The folder of base backups.</summary>
    public const string BaseBackupsPrefix = "basebackups_005/";

    /// <summary>The folder of archived WAL.</summary>
    public const string WalPrefix = "wal_005/";

    /// <summary>The suffix of a backup's sentinel, the object that makes it visible.</summary>
    public const string SentinelSuffix = "_backup_stop_sentinel.json";

    /// <summary><c>basebackups_005/&lt;backup&gt;_backup_stop_sentinel.json</c>.</summary>
    public static string SentinelKey(string backupName) => BaseBackupsPrefix + backupName + SentinelSuffix;

    /// <summary><c>basebackups_005/&lt;backup&gt;/</c>: everything of a backup but its sentinel.</summary>
    public static string BackupPrefix(string backupName) => BaseBackupsPrefix + backupName + "/";

    /// <summary><c>basebackups_005/&lt;backup&gt;/tar_partitions/</c>.</summary>
    public static string TarPartitionsPrefix(string backupName) => BackupPrefix(backupName) + "tar_partitions/";

    /// <summary><c>basebackups_005/&lt;backup&gt;/metadata.json</c>.</summary>
    public static string MetadataKey(string backupName) => BackupPrefix(backupName) + "metadata.json";

    /// <summary><c>basebackups_005/&lt;backup&gt;/files_metadata.json</c>.</summary>
    public static string FilesMetadataKey(string backupName) => BackupPrefix(backupName) + "files_metadata.json";

    /// <summary>
    /// The object name (before the compression extension) of the server's backup_manifest a remote backup-push stores in a
    /// backup's folder, compressed and encrypted like the tar partitions (the base of a later delta's INCREMENTAL).
    /// </summary>
    public const string BackupManifestObjectName = "backup_manifest";

    /// <summary>The object name of a backup's progress record, under its folder.</summary>
    public const string ProgressObjectName = "pgarchive_progress.json";

    /// <summary><c>basebackups_005/&lt;backup&gt;/pgarchive_progress.json</c>: what an unfinished backup-push stored so far.</summary>
    public static string ProgressKey(string backupName) => BackupPrefix(backupName) + ProgressObjectName;

    /// <summary>
    /// <c>basebackups_005/&lt;backup&gt;/pgarchive_progress/</c>: one small record per stored tar partition, so the
    /// progress of a backup costs one put per partition, not a record rewritten ever larger.
    /// </summary>
    public static string ProgressPartitionsPrefix(string backupName) => BackupPrefix(backupName) + "pgarchive_progress/";

    /// <summary><c>basebackups_005/&lt;backup&gt;/pgarchive_progress/&lt;partition object&gt;.json</c>.</summary>
    public static string ProgressPartitionKey(string backupName, string partitionObjectName) =>
        ProgressPartitionsPrefix(backupName) + partitionObjectName + ".json";

    /// <summary><c>wal_005/&lt;file&gt;[.ext]</c>.</summary>
    public static string WalKey(string walFileName, string extension) =>
        WalPrefix + (extension.Length == 0 ? walFileName : walFileName + "." + extension);

    /// <summary>
    /// The folder of WAL block maps (<c>WALG_USE_WAL_DELTA</c>): one object per archived segment, named
    /// <c>&lt;segment&gt;.blockmap[.ext]</c>. A folder of its own, beside wal_005/, so that nothing that lists WAL
    /// (wal-show, wal-verify, wal-fetch, retention, copy) ever sees a map as a WAL file.
    /// </summary>
    public const string WalBlockMapsPrefix = "wal_blockmaps_005/";

    /// <summary>What follows the segment name in a block map's object name, before the compression extension.</summary>
    public const string WalBlockMapSuffix = ".blockmap";

    /// <summary><c>wal_blockmaps_005/&lt;segment&gt;.blockmap[.ext]</c>.</summary>
    public static string WalBlockMapKey(string segmentName, string extension) =>
        WalBlockMapsPrefix + segmentName + WalBlockMapSuffix + (extension.Length == 0 ? "" : "." + extension);
}
