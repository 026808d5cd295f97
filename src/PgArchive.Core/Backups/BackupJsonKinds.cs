using PgArchive.Storage;

namespace PgArchive.Backups;

/// <summary>The JSON objects of a backup that <see cref="StoredJson"/> reads, and the most each may hold.</summary>
internal static class BackupJsonKinds
{
    /// <summary>The most a backup sentinel may hold. WAL-G's are a few kilobytes; old ones embedded the file list.</summary>
    public static readonly StoredJsonKind Sentinel = new("a backup sentinel", 64L << 20);

    /// <summary>The most a backup's metadata.json may hold (WAL-G's are a few hundred bytes).</summary>
    public static readonly StoredJsonKind Metadata = new("metadata.json", 64L << 20);

    /// <summary>The most a backup's files_metadata.json may hold: it grows with the number of files (about 250 bytes each).</summary>
    public static readonly StoredJsonKind FilesMetadata = new("files_metadata.json", 4L << 30);

    /// <summary>The most a progress record of an interrupted backup-push may hold (one partition's files).</summary>
    public static readonly StoredJsonKind Progress = new("a backup-push progress record", 64L << 20);
}
