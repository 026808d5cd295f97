using System.Text.Json.Serialization;
using PgArchive.Storage;

namespace PgArchive.Backups;

/// <summary><c>basebackups_005/&lt;backup&gt;/files_metadata.json</c>: every file of the backup and the tar holding it.</summary>
public sealed class FilesMetadata
{
    /// <summary>Path (<c>/base/16384/16397</c>) → what was recorded of the file.</summary>
    public Dictionary<string, BackupFileDescription> Files { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Tar name (<c>part_001.tar.lz4</c>) → the paths it holds.</summary>
    public Dictionary<string, List<string>> TarFileSets { get; set; } = new(StringComparer.Ordinal);

    /// <summary>
    /// Tar name → size and XXH128 of the object as stored, recorded by PgArchive's backup-push and checked by
    /// backup-fetch and backup-verify. WAL-G ignores it; absent in WAL-G's backups.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public Dictionary<string, StoredChecksum>? TarChecksums { get; set; }

    /// <summary>What is wrong with a files_metadata.json as read (a null where a description or a path list belongs), or null.</summary>
    internal string? Defect() =>
        Files.FirstOrDefault(f => f.Value is null) is { Key: { } file } ? $"field Files['{file}']: null instead of the file's description"
        : TarFileSets.FirstOrDefault(t => t.Value is null || t.Value.Contains(null!)) is { Key: { } tar } ? $"field TarFileSets['{tar}']: null instead of a list of paths"
        : TarChecksums?.FirstOrDefault(t => t.Value is null) is { Key: { } sum } ? $"field TarChecksums['{sum}']: null instead of the partition's size and checksum"
        : null;

    /// <summary>Adds what <paramref name="other"/> recorded (one partition's files), in its order.</summary>
    internal void Merge(FilesMetadata other)
    {
        foreach (var (path, description) in other.Files)
        {
            Files[path] = description;
        }

        foreach (var (tar, paths) in other.TarFileSets)
        {
            TarFileSets[tar] = paths;
        }

        foreach (var (tar, checksum) in other.TarChecksums ?? [])
        {
            TarChecksums ??= new(StringComparer.Ordinal);
            TarChecksums[tar] = checksum;
        }
    }
}

/// <summary>One file of a backup, as WAL-G describes it.</summary>
public sealed class BackupFileDescription
{
    /// <summary>True when stored as a page increment (delta backups).</summary>
    public bool IsIncremented { get; set; }

    /// <summary>True when skipped because unchanged since the base.</summary>
    public bool IsSkipped { get; set; }

    /// <summary>Modification time when read.</summary>
    public DateTimeOffset MTime { get; set; }

    /// <summary>WAL-G's update counter.</summary>
    public long UpdatesCount { get; set; }

    /// <summary>Blocks whose data-page checksum failed at backup time (WAL-G's shape); absent when none.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public CorruptBlocksInfo? CorruptBlocks { get; set; }

    /// <summary>
    /// XXH128 of the file's bytes as stored in the tar, lower-case hex of the canonical (big-endian) hash,
    /// recorded by PgArchive's backup-push for backup-verify. WAL-G ignores it; absent in WAL-G's backups.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? XxHash128 { get; set; }
}

/// <summary>The corrupt blocks of one file, as WAL-G records them.</summary>
public sealed class CorruptBlocksInfo
{
    /// <summary>WAL-G stores at most this many block numbers unless told to store all (WALG_STORE_ALL_CORRUPT_BLOCKS).</summary>
    public const int MaxListed = 10;

    /// <summary>How many blocks failed.</summary>
    public int CorruptBlocksCount { get; set; }

    /// <summary>The first of them (file-relative block numbers, ascending).</summary>
    public List<uint> SomeCorruptBlocks { get; set; } = [];

    /// <summary>Describes <paramref name="blocks"/>, listing at most <see cref="MaxListed"/> unless <paramref name="listAll"/>.</summary>
    public static CorruptBlocksInfo? From(IReadOnlyList<uint> blocks, bool listAll)
    {
        ArgumentNullException.ThrowIfNull(blocks);
        if (blocks.Count == 0)
        {
            return null;
        }

        var sorted = blocks.Order().ToList();
        return new CorruptBlocksInfo { CorruptBlocksCount = sorted.Count, SomeCorruptBlocks = listAll ? sorted : [.. sorted.Take(MaxListed)] };
    }
}
