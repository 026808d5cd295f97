using System.Text.Json;

namespace PgArchive.Backups;

/// <summary>What to back up.</summary>
public sealed class BackupPushRequest
{
    /// <summary>The data directory of the running cluster the connection points at.</summary>
    public required string DataDirectory { get; init; }

    /// <summary>Mark the backup permanent (never deleted by retention).</summary>
    public bool Permanent { get; init; }

    /// <summary>Free-form JSON stored with the backup (<c>--add-user-data</c>).</summary>
    public JsonElement? UserData { get; init; }

    /// <summary>Overrides <see cref="PgArchiveOptions.VerifyPageChecksums"/> for this backup (<c>--verify</c>).</summary>
    public bool? VerifyPageChecksums { get; init; }

    /// <summary>Take a full backup even when <see cref="PgArchiveOptions.DeltaMaxSteps"/> allows a delta (<c>--full</c>).</summary>
    public bool Full { get; init; }

    /// <summary>Build a delta on this backup (<c>--delta-from-name</c>), whatever <see cref="PgArchiveOptions.DeltaOrigin"/> says.</summary>
    public string? DeltaFromName { get; init; }

    /// <summary>
    /// Build a delta on the one backup whose user data equals this JSON (<c>--delta-from-user-data</c>, WAL-G's
    /// UserDataBackupSelector); a full backup when none has it. Not together with <see cref="DeltaFromName"/>.
    /// </summary>
    public JsonElement? DeltaFromUserData { get; init; }

    /// <summary>
    /// Write no files_metadata.json (<c>--without-files-metadata</c>, as WAL-G): the sentinel says
    /// <c>FilesMetadataDisabled</c>, the backup is full, and restore and backup-verify cannot check files against their
    /// recorded checksums (they check that its partitions hold pg_control and backup_label). Not with a delta base.
    /// </summary>
    public bool WithoutFilesMetadata { get; init; }

    /// <summary>Overrides <see cref="PgArchiveOptions.StoreAllCorruptBlocks"/> for this backup (<c>--store-all-corrupt</c>).</summary>
    public bool? StoreAllCorruptBlocks { get; init; }

    /// <summary>When the delta's base cannot be used (another cluster, a timeline it cannot follow), take a full backup instead of failing.</summary>
    public bool FallBackToFull { get; init; }

    /// <summary>
    /// Reuse the tar partitions of an interrupted backup of this cluster (<c>--resume</c>) whose files have not changed
    /// since they were read, instead of reading them again. Full backups only: a delta is always taken fresh.
    /// </summary>
    public bool Resume { get; init; }

    /// <summary>Told the bytes of files read so far, against the data directory's size.</summary>
    public IProgress<Diagnostics.TransferProgress>? Progress { get; init; }

    /// <summary>Refuses choices that contradict each other, as WAL-G's backup-push refuses them before it starts.</summary>
    /// <exception cref="PgArchiveConfigurationException">A delta base is named twice, or named for a backup without files_metadata.json.</exception>
    public void Validate()
    {
        if (WithoutFilesMetadata && (DeltaFromName is { Length: > 0 } || DeltaFromUserData is not null))
        {
            throw new PgArchiveConfigurationException(
                "A backup without files_metadata.json is always full: --without-files-metadata cannot be used with --delta-from-name or --delta-from-user-data.");
        }

        if (DeltaFromUserData is not null && DeltaFromName is { Length: > 0 })
        {
            throw new PgArchiveConfigurationException("Name one delta base: --delta-from-name or --delta-from-user-data, not both.");
        }
    }
}

/// <summary>The outcome of a backup.</summary>
/// <param name="BackupName">The new backup's name.</param>
/// <param name="StartLsn">Where WAL replay of the backup starts.</param>
/// <param name="FinishLsn">Where the backup becomes consistent.</param>
/// <param name="Files">Files stored.</param>
/// <param name="UncompressedBytes">Tar bytes before compression.</param>
/// <param name="CompressedBytes">Bytes stored.</param>
/// <param name="Partitions">Tar partitions stored (part_NNN only).</param>
public sealed record BackupPushResult(string BackupName, PostgresTypes.Lsn StartLsn, PostgresTypes.Lsn FinishLsn, int Files, long UncompressedBytes, long CompressedBytes, int Partitions)
{
    /// <summary>True when data-page checksums were verified (the cluster has them and verification is on).</summary>
    public bool PageChecksumsVerified { get; init; }

    /// <summary>Pages whose checksum was compared.</summary>
    public long PagesVerified { get; init; }

    /// <summary>The backup a delta is built on; null for a full backup.</summary>
    public string? DeltaFrom { get; init; }

    /// <summary>Relation files stored as page increments.</summary>
    public int IncrementedFiles { get; init; }

    /// <summary>Files left out because unchanged since the base (same modification time).</summary>
    public int SkippedFiles { get; init; }

    /// <summary>The interrupted backup whose partitions were reused (<see cref="BackupPushRequest.Resume"/>); null when none was.</summary>
    public string? ResumedFrom { get; init; }

    /// <summary>Tar partitions copied from <see cref="ResumedFrom"/> (counted in <c>Partitions</c>).</summary>
    public int ReusedPartitions { get; init; }

    /// <summary>Stored bytes of those partitions (counted in <c>CompressedBytes</c>).</summary>
    public long ReusedBytes { get; init; }

    /// <summary>Files with blocks whose page checksum failed; empty when none.</summary>
    public IReadOnlyList<CorruptFile> CorruptFiles { get; init; } = [];
}

/// <summary>A file of the backup with corrupt pages.</summary>
/// <param name="Path">Its path relative to the data directory, e.g. <c>base/5/16384</c>.</param>
/// <param name="Blocks">File-relative block numbers whose checksum did not match, ascending.</param>
public sealed record CorruptFile(string Path, IReadOnlyList<uint> Blocks);
