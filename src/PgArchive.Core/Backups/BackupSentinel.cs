using System.Text.Json.Serialization;

namespace PgArchive.Backups;

/// <summary>
/// <c>&lt;backup&gt;_backup_stop_sentinel.json</c>, with WAL-G's field names. Written last: a backup without
/// its sentinel does not exist. LSNs are JSON numbers.
/// </summary>
public sealed class BackupSentinel
{
    /// <summary>Start LSN.</summary>
    [JsonPropertyName("LSN")]
    public ulong Lsn { get; set; }

    /// <summary>Stop LSN.</summary>
    [JsonPropertyName("FinishLSN")]
    public ulong FinishLsn { get; set; }

    /// <summary>Start LSN of the base of a delta backup.</summary>
    [JsonPropertyName("DeltaLSN")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public ulong? DeltaLsn { get; set; }

    /// <summary>The base of a delta backup.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? DeltaFrom { get; set; }

    /// <summary>The full backup at the root of a delta chain.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? DeltaFullName { get; set; }

    /// <summary>WAL-G's count of deltas since the full backup: the newest backup's count + 1 when the delta was taken (see DeltaBase).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? DeltaCount { get; set; }

    /// <summary><c>server_version_num</c>, e.g. 150010.</summary>
    public int PgVersion { get; set; }

    /// <summary>The cluster's system identifier.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public ulong? SystemIdentifier { get; set; }

    /// <summary>Bytes of tar written, before compression.</summary>
    public long UncompressedSize { get; set; }

    /// <summary>Bytes stored.</summary>
    public long CompressedSize { get; set; }

    /// <summary>Bytes of data files read (left out when 0, as WAL-G's omitempty).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public long DataCatalogSize { get; set; }

    /// <summary>Tablespaces of the backup.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public TablespaceSpec? Spec { get; set; }

    /// <summary>Free-form data given by the user.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public System.Text.Json.JsonElement? UserData { get; set; }

    /// <summary>True when no files_metadata.json was written (left out when false, as WAL-G's omitempty).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public bool FilesMetadataDisabled { get; set; }

    /// <summary>The format version PgArchive writes, as WAL-G does since files_metadata.json (2).</summary>
    public const int CurrentVersion = 2;

    /// <summary>
    /// Format version: <see cref="CurrentVersion"/> in what backup-push writes; 0 when the sentinel has none (older WAL-G,
    /// whose backups may lack files_metadata.json).
    /// </summary>
    public int Version { get; set; }

    /// <summary>When the backup started (UTC).</summary>
    public DateTimeOffset StartTime { get; set; }

    /// <summary>When the backup finished (UTC).</summary>
    public DateTimeOffset FinishTime { get; set; }

    /// <summary>WAL-G's date format string.</summary>
    public string DateFmt { get; set; } = BackupMetadata.WalGDateFormat;

    /// <summary>The host the backup was taken on.</summary>
    public string Hostname { get; set; } = "";

    /// <summary>The data directory backed up.</summary>
    public string DataDir { get; set; } = "";

    /// <summary>Whether the backup was permanent when created.</summary>
    public bool IsPermanent { get; set; }

    /// <summary>What is wrong with a sentinel as read (a chain field that is not a backup name), or null.</summary>
    internal string? Defect() =>
        DeltaFrom is { } from && !BackupName.IsValid(from) ? $"field DeltaFrom: '{from}' is not a backup name"
        : DeltaFullName is { } full && !BackupName.IsValid(full) ? $"field DeltaFullName: '{full}' is not a backup name"
        : null;

    /// <summary>
    /// Older WAL-G (before files_metadata.json, 2021) kept the file list in the sentinel; read only, never written.
    /// </summary>
    [JsonPropertyName("Files")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public Dictionary<string, BackupFileDescription>? LegacyFiles { get; set; }

    /// <summary>Older WAL-G's tar file sets, kept in the sentinel with <see cref="LegacyFiles"/>; read only.</summary>
    [JsonPropertyName("TarFileSets")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public Dictionary<string, List<string>>? LegacyTarFileSets { get; set; }

    /// <summary>The file list older WAL-G kept in the sentinel, as a files_metadata.json; null when it has none.</summary>
    internal FilesMetadata? LegacyFilesMetadata() => LegacyFiles is null
        ? null
        : new FilesMetadata
        {
            Files = new(LegacyFiles, StringComparer.Ordinal),
            TarFileSets = LegacyTarFileSets is null ? new(StringComparer.Ordinal) : new(LegacyTarFileSets, StringComparer.Ordinal),
        };
}
