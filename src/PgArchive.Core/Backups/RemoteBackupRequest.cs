using System.Text.Json;

namespace PgArchive.Backups;

/// <summary>
/// A base backup of a server reached only by a connection (<c>backup-push --remote</c>): taken through the replication
/// protocol's <c>BASE_BACKUP</c> and streamed into the archive's tar partitions without a local copy.
/// </summary>
public sealed class RemoteBackupRequest
{
    /// <summary>
    /// Libpq-style connection string (Npgsql's keywords) of the server; what it leaves out comes from libpq's environment.
    /// Null takes <see cref="PgArchiveOptions.ConnectionString"/>. The role needs the REPLICATION attribute.
    /// </summary>
    public string? ConnectionString { get; init; }

    /// <summary>Mark the backup permanent (never deleted by retention).</summary>
    public bool Permanent { get; init; }

    /// <summary>Free-form JSON stored with the backup (<c>--add-user-data</c>).</summary>
    public JsonElement? UserData { get; init; }

    /// <summary>
    /// Take a full backup even when <see cref="PgArchiveOptions.DeltaMaxSteps"/> allows an incremental one (<c>--full</c>).
    /// Otherwise the base is chosen by WAL-G's delta rules, as for a local delta; on PostgreSQL 17+ with <c>summarize_wal</c>
    /// on, the backup is then BASE_BACKUP's INCREMENTAL against the base's stored backup manifest, kept as a WAL-G delta.
    /// </summary>
    public bool Full { get; init; }

    /// <summary>Build the incremental backup on this backup (<c>--delta-from-name</c>).</summary>
    public string? DeltaFromName { get; init; }

    /// <summary>Build the incremental backup on the one backup whose user data equals this JSON (<c>--delta-from-user-data</c>).</summary>
    public JsonElement? DeltaFromUserData { get; init; }

    /// <summary>Cap on how fast the server sends, in kilobytes per second (BASE_BACKUP's <c>MAX_RATE</c>: 32 to 1048576); null for no cap.</summary>
    public int? MaxRateKilobytesPerSecond { get; init; }

    /// <summary>Told the bytes received so far, against the size the server estimates.</summary>
    public IProgress<Diagnostics.TransferProgress>? Progress { get; init; }
}
