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

    /// <summary>Cap on how fast the server sends, in kilobytes per second (BASE_BACKUP's <c>MAX_RATE</c>: 32 to 1048576); null for no cap.</summary>
    public int? MaxRateKilobytesPerSecond { get; init; }

    /// <summary>Told the bytes received so far, against the size the server estimates.</summary>
    public IProgress<Diagnostics.TransferProgress>? Progress { get; init; }
}
