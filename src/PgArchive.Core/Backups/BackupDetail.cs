using System.Text.Json.Serialization;
using PgArchive.PostgresTypes;

namespace PgArchive.Backups;

/// <summary>
/// A complete backup with what its sentinel and its metadata.json say. The permanent flag comes from
/// metadata.json (backup-mark rewrites it there); the sentinel keeps the value at creation.
/// </summary>
/// <param name="Info">The listing entry: name, sentinel modification time, start segment.</param>
/// <param name="Sentinel">The sentinel.</param>
/// <param name="Metadata">metadata.json, or one built from the sentinel when the backup has none (WAL-E's).</param>
public sealed record BackupDetail(BackupInfo Info, BackupSentinel Sentinel, BackupMetadata Metadata)
{
    /// <summary>The backup's name.</summary>
    public string Name => Info.Name;

    /// <summary>Never deleted by retention while true.</summary>
    public bool IsPermanent => Metadata.IsPermanent;

    /// <summary>A full backup (not a delta).</summary>
    public bool IsFull => Sentinel.DeltaFrom is null;

    /// <summary>The timeline the backup started on, from its name.</summary>
    public uint Timeline => uint.Parse(Info.WalFileName.AsSpan(0, 8), System.Globalization.NumberStyles.AllowHexSpecifier, System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Where WAL replay of the backup starts.</summary>
    public Lsn StartLsn => new(Sentinel.Lsn);

    /// <summary>Where the backup becomes consistent.</summary>
    public Lsn FinishLsn => new(Sentinel.FinishLsn);

    /// <summary>
    /// The WAL segment size of the cluster the backups came from: the size for which a backup's start LSN falls
    /// in the segment its name says. <paramref name="fallback"/> when no backup tells.
    /// </summary>
    public static long InferSegmentSize(IEnumerable<BackupDetail> backups, long fallback = WalSegment.DefaultSegmentSize)
    {
        ArgumentNullException.ThrowIfNull(backups);
        foreach (var backup in backups)
        {
            for (var size = 1L << 20; size <= 1L << 30; size <<= 1)
            {
                if (WalSegment.Containing(backup.StartLsn, backup.Timeline, size).FileName == backup.Info.WalFileName)
                {
                    return size;
                }
            }
        }

        return fallback;
    }

    /// <summary>metadata.json built from a sentinel, for backups that have none.</summary>
    public static BackupMetadata MetadataFrom(BackupSentinel sentinel)
    {
        ArgumentNullException.ThrowIfNull(sentinel);
        return new BackupMetadata
        {
            StartTime = sentinel.StartTime,
            FinishTime = sentinel.FinishTime,
            DateFmt = sentinel.DateFmt,
            Hostname = sentinel.Hostname,
            DataDir = sentinel.DataDir,
            PgVersion = sentinel.PgVersion,
            StartLsn = sentinel.Lsn,
            FinishLsn = sentinel.FinishLsn,
            IsPermanent = sentinel.IsPermanent,
            SystemIdentifier = sentinel.SystemIdentifier,
            UncompressedSize = sentinel.UncompressedSize,
            CompressedSize = sentinel.CompressedSize,
            UserData = sentinel.UserData,
        };
    }

    /// <summary>This backup as one row of <c>backup-list --detail --json</c>.</summary>
    public BackupDetailEntry ToEntry() => new(Metadata)
    {
        BackupName = Name,
        Time = Info.LastModified,
        WalFileName = Info.WalFileName,
    };
}

/// <summary>
/// One row of <c>backup-list --detail --json</c>: WAL-G's listing fields, then its metadata.json fields (those of
/// <see cref="BackupMetadata"/>, in the same order).
/// </summary>
public sealed class BackupDetailEntry : BackupMetadata
{
    /// <summary>Creates an empty row.</summary>
    public BackupDetailEntry()
    {
    }

    internal BackupDetailEntry(BackupMetadata metadata) : base(metadata)
    {
    }

    /// <summary>The backup's name.</summary>
    [JsonPropertyName("backup_name")]
    [JsonPropertyOrder(-4)]
    public string BackupName { get; set; } = "";

    /// <summary>Modification time of the sentinel.</summary>
    [JsonPropertyName("time")]
    [JsonPropertyOrder(-3)]
    public DateTimeOffset Time { get; set; }

    /// <summary>The WAL segment of the start LSN.</summary>
    [JsonPropertyName("wal_file_name")]
    [JsonPropertyOrder(-2)]
    public string WalFileName { get; set; } = "";

    /// <summary>The storage's name: <c>default</c>.</summary>
    [JsonPropertyName("storage_name")]
    [JsonPropertyOrder(-1)]
    public string StorageName { get; set; } = "default";
}
