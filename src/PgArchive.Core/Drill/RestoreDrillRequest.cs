namespace PgArchive.Drill;

/// <summary>What <c>RestoreDrill.RunAsync</c> restores and how it starts PostgreSQL over the copy.</summary>
public sealed class RestoreDrillRequest
{
    /// <summary>The backup to restore: a name or <c>LATEST</c>.</summary>
    public string BackupName { get; init; } = Backups.BackupName.Latest;

    /// <summary>
    /// The <c>restore_command</c> the restored server fetches WAL with (e.g. <c>pgarchive wal-fetch "%f" "%p"</c>).
    /// It must not carry secrets: pass them in <see cref="Environment"/>, which the server and so its restore_command inherit.
    /// </summary>
    public required string RestoreCommand { get; init; }

    /// <summary>Variables added to the server's environment (storage settings and credentials for the restore_command).</summary>
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();

    /// <summary>The directory holding <c>postgres</c>; null asks <c>pg_config --bindir</c>.</summary>
    public string? PgBinDirectory { get; init; }

    /// <summary>Where the temporary directory is made; null is the system's temporary directory.</summary>
    public string? WorkDirectory { get; init; }

    /// <summary>The OS user the server runs as when this process is root (PostgreSQL refuses root). Default <c>postgres</c>.</summary>
    public string OsUser { get; init; } = "postgres";

    /// <summary>The database superuser the checks connect as (over the drill's private socket, trust). Default <c>postgres</c>.</summary>
    public string DatabaseUser { get; init; } = "postgres";

    /// <summary>How long recovery may take before the drill fails. Default 1 hour.</summary>
    public TimeSpan RecoveryTimeout { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Progress of the restore, as backup-fetch reports it.</summary>
    public IProgress<Diagnostics.TransferProgress>? Progress { get; init; }
}
