namespace PgArchive.Backups;

/// <summary>What to restore, and where.</summary>
public sealed class BackupFetchRequest
{
    /// <summary>An empty or absent directory to restore into.</summary>
    public required string TargetDirectory { get; init; }

    /// <summary>A backup name or <c>LATEST</c>.</summary>
    public string BackupName { get; init; } = Backups.BackupName.Latest;

    /// <summary>
    /// Tablespace OID → directory, for tablespaces that should not go back where they were. Each directory must be an
    /// absolute, normalised path (no <c>.</c> or <c>..</c> segment), as the locations the backup records must be.
    /// </summary>
    public IReadOnlyDictionary<string, string> TablespaceMapping { get; init; } = new Dictionary<string, string>();

    /// <summary>When set, the restored cluster is configured to recover from the archive on start.</summary>
    public RecoveryOptions? Recovery { get; init; }

    /// <summary>
    /// Files to write into the top of the target (mode 0600, never over an existing file) once the backup is restored
    /// and the recovery settings are written, before the restore is flushed and its incomplete-restore marker removed,
    /// so that a restore reported done has them and a failed one does not: e.g. the settings file a
    /// <see cref="RecoveryOptions.RestoreCommand"/> reads. A tar member of the same name is never taken from the archive.
    /// </summary>
    public IReadOnlyList<AddedFile> AddedFiles { get; init; } = [];

    /// <summary>
    /// When the target or a tablespace location holds an interrupted restore (the
    /// <see cref="IncompleteRestoreMarker"/> beside partial files, left by a backup-fetch that was killed), delete its
    /// contents and restore again. A directory without the marker is never deleted from, nor one holding
    /// <c>postmaster.pid</c>. Off by default: such a directory is refused with a message saying what it holds.
    /// </summary>
    public bool RestartInterrupted { get; init; }

    /// <summary>
    /// For a delta backup, extract the newest backup of the chain first and write each page once, as WAL-G's
    /// <c>--reverse-unpack</c> (the default here: measured faster, <c>bench/chain-restore.sh</c>); false extracts the full
    /// backup and applies each increment in order, WAL-G's default. Both restore the same bytes.
    /// </summary>
    public bool ReverseUnpack { get; init; } = true;

    /// <summary>
    /// Restore only the files whose name matches this shell pattern (WAL-G's <c>--mask</c>, Go's <c>filepath.Match</c>
    /// syntax), the name being <c>/</c> + the path relative to the data directory as WAL-G matches it
    /// (<c>base/16384/*</c> matches <c>/base/16384/16397</c>); directories are all created. The result is part of a data
    /// directory, not one PostgreSQL starts: <c>backup_label</c> and <c>tablespace_map</c> are not restored (WAL-G's
    /// names for them have no <c>/</c>, so no mask matches them), <c>global/pg_control</c> only when the mask matches it,
    /// and no <see cref="Recovery"/> may be asked for. Null restores everything.
    /// </summary>
    public string? FileMask { get; init; }

    /// <summary>
    /// With <see cref="ReverseUnpack"/>, WAL-G's <c>--skip-redundant-tars</c>: a tar partition that holds no file still
    /// to restore (every one already written whole by a newer backup of the chain, deleted since, or not matching
    /// <see cref="FileMask"/>), as its backup's files_metadata.json tells, is not downloaded.
    /// </summary>
    public bool SkipRedundantTars { get; init; }

    /// <summary>Told the bytes of files written so far, against the backup's size.</summary>
    public IProgress<Diagnostics.TransferProgress>? Progress { get; init; }
}

/// <summary>A file backup-fetch adds to the top of the restored directory (see <see cref="BackupFetchRequest.AddedFiles"/>).</summary>
/// <param name="Name">A plain file name (no directory); not one of the names backup-fetch writes itself.</param>
/// <param name="Content">What the file holds.</param>
public sealed record AddedFile(string Name, ReadOnlyMemory<byte> Content);

/// <summary>The outcome of a restore.</summary>
/// <param name="BackupName">The backup restored.</param>
/// <param name="Files">Files written.</param>
/// <param name="Bytes">Bytes written.</param>
public sealed record BackupFetchResult(string BackupName, long Files, long Bytes);
