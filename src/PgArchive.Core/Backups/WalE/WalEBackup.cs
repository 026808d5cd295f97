using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;

namespace PgArchive.Backups.WalE;

/// <summary>
/// WAL-E's base backups, as WAL-E 1.x stored them (wal_e/operator/backup.py, wal_e/worker/upload.py):
/// <c>basebackups_005/base_&lt;start segment&gt;_&lt;start offset&gt;/</c> with <c>extended_version.txt</c> and
/// <c>tar_partitions/part_&lt;8 digits&gt;.tar.lzo</c>, and the sentinel <c>base_..._backup_stop_sentinel.json</c> with
/// WAL-E's field names. Offsets are what WAL-E's query returned, <c>lpad(file_offset::text, 8, '0')</c>: decimal.
/// WAL-E assumed 16 MiB segments (its segment arithmetic counts 256 per log file), and so do the LSNs here.
/// No metadata.json, no files_metadata.json, no pg_control.tar: <c>global/pg_control</c> and <c>backup_label</c> (an
/// exclusive backup's) are members of the partitions; the configuration files were left out.
/// </summary>
public static partial class WalEBackup
{
    /// <summary>The object beside the partitions holding <c>SELECT version()</c> of the backed-up server.</summary>
    public const string ExtendedVersionObjectName = "extended_version.txt";

    /// <summary>The WAL segment size WAL-E assumed.</summary>
    public const long SegmentSize = 16L << 20;

    /// <summary>True for a WAL-E backup name, <c>base_&lt;24 hex&gt;_&lt;8 digits&gt;</c> (WAL-G's names have no offset).</summary>
    public static bool IsWalEName(string? name) => name is not null && NamePattern().IsMatch(name);

    /// <summary>The LSN of a WAL file name and a WAL-E offset: the segment's start plus the offset.</summary>
    public static ulong Position(string segmentFileName, string offset)
    {
        ArgumentNullException.ThrowIfNull(segmentFileName);
        var log = ulong.Parse(segmentFileName.AsSpan(8, 8), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
        var segment = ulong.Parse(segmentFileName.AsSpan(16, 8), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
        var bytes = ulong.TryParse(offset, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) && parsed < (ulong)SegmentSize ? parsed : 0;
        return (log << 32) + (segment * (ulong)SegmentSize) + bytes;
    }

    /// <summary>
    /// The sentinel of WAL-E backup <paramref name="name"/> as PgArchive's <see cref="BackupSentinel"/>: start LSN from
    /// the name, stop LSN from the sentinel, the size WAL-E recorded, its tablespace spec (data directory included),
    /// the PostgreSQL version from <c>extended_version.txt</c>, and, WAL-E having recorded no times, the time its
    /// sentinel was stored as both start and finish time.
    /// </summary>
    public static BackupSentinel ToSentinel(string name, WalESentinel walE, DateTimeOffset storedAt, string? extendedVersion)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(walE);
        var startSegment = name.Substring(5, 24);
        var stopSegment = walE.StopSegment is { Length: 24 } stop && stop.All(char.IsAsciiHexDigit) ? stop : startSegment;
        var spec = walE.Spec;
        return new BackupSentinel
        {
            Lsn = Position(startSegment, name[30..]),
            FinishLsn = Position(stopSegment, walE.StopOffsetText ?? ""),
            PgVersion = VersionNumber(extendedVersion),
            UncompressedSize = walE.ExpandedSizeBytes ?? 0,
            DataCatalogSize = walE.ExpandedSizeBytes ?? 0,
            Spec = spec is { Tablespaces.Count: > 0 } ? spec : null,
            DataDir = spec?.BasePrefix.TrimEnd('/') ?? "",
            FilesMetadataDisabled = true,
            Version = 0,
            StartTime = storedAt,
            FinishTime = storedAt,
        };
    }

    /// <summary><c>server_version_num</c> from <c>SELECT version()</c> text: "PostgreSQL 9.6.3 on ..." → 90603, "PostgreSQL 15.10 ..." → 150010; 0 when unknown.</summary>
    public static int VersionNumber(string? versionText)
    {
        var match = VersionPattern().Match(versionText ?? "");
        if (!match.Success)
        {
            return 0;
        }

        var major = int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
        var second = match.Groups[2].Success ? int.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture) : 0;
        var third = match.Groups[3].Success ? int.Parse(match.Groups[3].Value, CultureInfo.InvariantCulture) : 0;
        return major >= 10 ? (major * 10000) + second : (major * 10000) + (second * 100) + third;
    }

    [GeneratedRegex("^base_[0-9A-F]{24}_[0-9]{8}$", RegexOptions.CultureInvariant)]
    private static partial Regex NamePattern();

    [GeneratedRegex(@"^PostgreSQL (\d+)(?:\.(\d+))?(?:\.(\d+))?", RegexOptions.CultureInvariant)]
    private static partial Regex VersionPattern();
}

/// <summary>
/// WAL-E's <c>base_..._backup_stop_sentinel.json</c>: <c>{"wal_segment_backup_stop": "...", "wal_segment_offset_backup_stop":
/// "...", "expanded_size_bytes": N, "spec": {...}}</c> (wal_e/operator/backup.py, database_backup).
/// </summary>
public sealed class WalESentinel
{
    /// <summary>The WAL file of pg_stop_backup's LSN.</summary>
    [JsonPropertyName("wal_segment_backup_stop")]
    public string? StopSegment { get; set; }

    /// <summary>The offset in it: WAL-E stored the text of a decimal number; a number is read too.</summary>
    [JsonPropertyName("wal_segment_offset_backup_stop")]
    public JsonElement? StopOffset { get; set; }

    /// <summary>Bytes of tar members (WAL-E's total_member_size).</summary>
    [JsonPropertyName("expanded_size_bytes")]
    public long? ExpandedSizeBytes { get; set; }

    /// <summary>The data directory and tablespaces, in the shape WAL-G kept.</summary>
    [JsonPropertyName("spec")]
    public TablespaceSpec? Spec { get; set; }

    /// <summary>The stop offset as text, whichever way it was stored.</summary>
    [JsonIgnore]
    public string? StopOffsetText => StopOffset switch
    {
        { ValueKind: JsonValueKind.String } text => text.GetString(),
        { ValueKind: JsonValueKind.Number } number => number.GetRawText(),
        _ => null,
    };
}
