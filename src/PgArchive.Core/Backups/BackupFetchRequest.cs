namespace PgArchive.Backups;

/// <summary>What to restore, and where.</summary>
public sealed class BackupFetchRequest
{
    /// <summary>An empty or absent directory to restore into.</summary>
    public required string TargetDirectory { get; init; }

    /// <summary>A backup name or <c>LATEST</c>.</summary>
    public string BackupName { get; init; } = Backups.BackupName.Latest;

    /// <summary>Tablespace OID → directory, for tablespaces that should not go back where they were.</summary>
    public IReadOnlyDictionary<string, string> TablespaceMapping { get; init; } = new Dictionary<string, string>();

    /// <summary>When set, the restored cluster is configured to recover from the archive on start.</summary>
    public RecoveryOptions? Recovery { get; init; }

    /// <summary>
    /// For a delta backup, extract the newest backup of the chain first and write each page once, as WAL-G's
    /// <c>--reverse-unpack</c>; otherwise the full backup is extracted and each increment applied in order.
    /// </summary>
    public bool ReverseUnpack { get; init; }

    /// <summary>Told the bytes of files written so far, against the backup's size.</summary>
    public IProgress<Diagnostics.TransferProgress>? Progress { get; init; }
}

/// <summary>The outcome of a restore.</summary>
/// <param name="BackupName">The backup restored.</param>
/// <param name="Files">Files written.</param>
/// <param name="Bytes">Bytes written.</param>
public sealed record BackupFetchResult(string BackupName, long Files, long Bytes);
