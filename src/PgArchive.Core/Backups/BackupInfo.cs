using System.Text.Json.Serialization;

namespace PgArchive.Backups;

/// <summary>A complete backup, as the catalog lists it.</summary>
/// <param name="Name">The backup's name, e.g. <c>base_000000010000000000000004</c>.</param>
/// <param name="LastModified">When its sentinel was stored: how LATEST is chosen.</param>
/// <param name="WalFileName">The WAL segment holding its start LSN.</param>
public sealed record BackupInfo(string Name, DateTimeOffset LastModified, string WalFileName);

/// <summary>One row of <c>backup-list --json</c>, with WAL-G's names.</summary>
public sealed class BackupListEntry
{
    /// <summary>The backup's name.</summary>
    [JsonPropertyName("backup_name")]
    public string BackupName { get; set; } = "";

    /// <summary>Modification time of the sentinel.</summary>
    [JsonPropertyName("time")]
    public DateTimeOffset Time { get; set; }

    /// <summary>The WAL segment of the start LSN.</summary>
    [JsonPropertyName("wal_file_name")]
    public string WalFileName { get; set; } = "";

    /// <summary>The storage's name: <c>default</c>.</summary>
    [JsonPropertyName("storage_name")]
    public string StorageName { get; set; } = "default";
}
