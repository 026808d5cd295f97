using System.Text.Json.Serialization;

namespace PgArchive.Backups;

/// <summary><c>basebackups_005/&lt;backup&gt;/files_metadata.json</c>: every file of the backup and the tar holding it.</summary>
public sealed class FilesMetadata
{
    /// <summary>Path (<c>/base/16384/16397</c>) → what was recorded of the file.</summary>
    public Dictionary<string, BackupFileDescription> Files { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Tar name (<c>part_001.tar.lz4</c>) → the paths it holds.</summary>
    public Dictionary<string, List<string>> TarFileSets { get; set; } = new(StringComparer.Ordinal);
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
}
