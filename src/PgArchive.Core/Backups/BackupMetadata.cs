using System.Text.Json.Serialization;

namespace PgArchive.Backups;

/// <summary>
/// <c>basebackups_005/&lt;backup&gt;/metadata.json</c>, with WAL-G's snake_case names. <see cref="BackupDetailEntry"/>
/// adds the listing fields to it, as WAL-G's backup detail embeds its metadata.
/// </summary>
public class BackupMetadata
{
    /// <summary>The date format WAL-G records.</summary>
    public const string WalGDateFormat = "%Y-%m-%dT%H:%M:%S.%fZ";

    /// <summary>Creates metadata with every field at its default.</summary>
    public BackupMetadata()
    {
    }

    /// <summary>Creates a copy of <paramref name="source"/>'s fields.</summary>
    private protected BackupMetadata(BackupMetadata source)
    {
        ArgumentNullException.ThrowIfNull(source);
        StartTime = source.StartTime;
        FinishTime = source.FinishTime;
        DateFmt = source.DateFmt;
        Hostname = source.Hostname;
        DataDir = source.DataDir;
        PgVersion = source.PgVersion;
        StartLsn = source.StartLsn;
        FinishLsn = source.FinishLsn;
        IsPermanent = source.IsPermanent;
        SystemIdentifier = source.SystemIdentifier;
        UncompressedSize = source.UncompressedSize;
        CompressedSize = source.CompressedSize;
        UserData = source.UserData;
    }

    /// <summary>When the backup started.</summary>
    [JsonPropertyName("start_time")]
    public DateTimeOffset StartTime { get; set; }

    /// <summary>When the backup finished.</summary>
    [JsonPropertyName("finish_time")]
    public DateTimeOffset FinishTime { get; set; }

    /// <summary>WAL-G's date format string.</summary>
    [JsonPropertyName("date_fmt")]
    public string DateFmt { get; set; } = WalGDateFormat;

    /// <summary>Where the backup was taken.</summary>
    [JsonPropertyName("hostname")]
    public string Hostname { get; set; } = "";

    /// <summary>The data directory backed up.</summary>
    [JsonPropertyName("data_dir")]
    public string DataDir { get; set; } = "";

    /// <summary><c>server_version_num</c>.</summary>
    [JsonPropertyName("pg_version")]
    public int PgVersion { get; set; }

    /// <summary>Start LSN.</summary>
    [JsonPropertyName("start_lsn")]
    public ulong StartLsn { get; set; }

    /// <summary>Stop LSN.</summary>
    [JsonPropertyName("finish_lsn")]
    public ulong FinishLsn { get; set; }

    /// <summary>Never deleted by retention when true.</summary>
    [JsonPropertyName("is_permanent")]
    public bool IsPermanent { get; set; }

    /// <summary>The cluster's system identifier.</summary>
    [JsonPropertyName("system_identifier")]
    public ulong? SystemIdentifier { get; set; }

    /// <summary>Bytes of tar before compression.</summary>
    [JsonPropertyName("uncompressed_size")]
    public long UncompressedSize { get; set; }

    /// <summary>Bytes stored.</summary>
    [JsonPropertyName("compressed_size")]
    public long CompressedSize { get; set; }

    /// <summary>Free-form data given by the user; left out when none, as WAL-G's omitempty.</summary>
    [JsonPropertyName("user_data")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public System.Text.Json.JsonElement? UserData { get; set; }
}
