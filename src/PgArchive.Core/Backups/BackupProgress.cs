namespace PgArchive.Backups;

/// <summary>
/// <c>basebackups_005/&lt;backup&gt;/pgarchive_progress.json</c> (what the backup is, and who writes it) and one
/// <c>pgarchive_progress/&lt;partition&gt;.json</c> per tar partition the store acknowledged: what a backup-push that is
/// still running (or was interrupted) has durably stored so far. The header is the backup-push's claim on the name
/// (see <see cref="BackupClaim"/>): stored create-only before anything else of the backup. It never makes
/// the backup visible (only the sentinel does) and goes with the rest of an incomplete backup in <c>delete garbage</c>.
/// <c>backup-push --resume</c> reads it to reuse partitions whose files have not changed since they were read.
/// PgArchive's own; WAL-G ignores it.
/// </summary>
public sealed class BackupProgress
{
    /// <summary>The format version this PgArchive writes: 2 (tar members named as WAL-G names them, <c>/base/5/1259</c>).</summary>
    public const int CurrentVersion = 2;

    /// <summary>Format version: <see cref="CurrentVersion"/>; partitions of a record of another version are never reused.</summary>
    public int Version { get; set; } = CurrentVersion;

    /// <summary>The backup being written.</summary>
    public string BackupName { get; set; } = "";

    /// <summary>The cluster's system identifier.</summary>
    public ulong SystemIdentifier { get; set; }

    /// <summary>The timeline the backup started on.</summary>
    public uint Timeline { get; set; }

    /// <summary>The backup's start LSN.</summary>
    public ulong StartLsn { get; set; }

    /// <summary>When the backup started (UTC).</summary>
    public DateTimeOffset StartTime { get; set; }

    /// <summary><c>server_version_num</c>.</summary>
    public int PgVersion { get; set; }

    /// <summary>The data directory backed up.</summary>
    public string DataDir { get; set; } = "";

    /// <summary>Compression method (its file extension) and encryption (method and key identity, never the key) of the partitions.</summary>
    public string CodecIdentity { get; set; } = "";

    /// <summary>True when the partitions' data pages had their checksums verified as they were read.</summary>
    public bool PageChecksumsVerified { get; set; }

    /// <summary>A random token of the backup-push that claimed the name: a claim found with another token is another run's.</summary>
    public string ClaimId { get; set; } = "";

    /// <summary>The machine the backup-push runs on; empty in records of versions before the claim.</summary>
    public string Hostname { get; set; } = "";

    /// <summary>The backup-push's process id on <see cref="Hostname"/>.</summary>
    public int ProcessId { get; set; }

    /// <summary>
    /// Set by a backup-push that failed or was stopped: nobody writes the backup any more, whatever its process does
    /// next (a service that stays up). A killed run cannot set it; its ended process says the same.
    /// </summary>
    public bool Interrupted { get; set; }

    /// <summary>The tar partitions stored so far: each is its own object, read back into this list, never written with the header.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public List<BackupProgressPartition> Partitions { get; set; } = [];
}

/// <summary>One tar partition a backup-push stored.</summary>
public sealed class BackupProgressPartition
{
    /// <summary>Its object name in <c>tar_partitions/</c>, e.g. <c>part_003.tar.lz4</c>.</summary>
    public string ObjectName { get; set; } = "";

    /// <summary>Size and XXH128 of its stored bytes.</summary>
    public Storage.StoredChecksum Stored { get; set; } = new(0, "");

    /// <summary>Bytes of tar before compression.</summary>
    public long TarBytes { get; set; }

    /// <summary>
    /// When reading its files began. A file whose modification time is not well before this (see
    /// <see cref="BackupResume.MTimeMargin"/>) may have been written while it was read, in the same clock tick.
    /// </summary>
    public DateTimeOffset ReadStartedAt { get; set; }

    /// <summary>Pages whose checksum was verified.</summary>
    public long PagesVerified { get; set; }

    /// <summary>The directories it holds (tar paths, e.g. <c>base/5</c>).</summary>
    public List<string> Directories { get; set; } = [];

    /// <summary>The files it holds, in tar order.</summary>
    public List<BackupProgressFile> Files { get; set; } = [];
}

/// <summary>One file of a stored partition.</summary>
public sealed class BackupProgressFile
{
    /// <summary>The path as files_metadata.json names it, e.g. <c>/base/5/16384</c>.</summary>
    public string Path { get; set; } = "";

    /// <summary>Bytes stored in the tar.</summary>
    public long Size { get; set; }

    /// <summary>What files_metadata.json records of it (modification time taken before the read, XXH128).</summary>
    public BackupFileDescription Description { get; set; } = new();
}
