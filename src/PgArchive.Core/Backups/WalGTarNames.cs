namespace PgArchive.Backups;

/// <summary>
/// WAL-G's names for what a backup's tars hold. A member is named <c>/</c> + its path relative to the data
/// directory (<c>/base/16384/16397</c>, <c>/global/pg_control</c>, <c>/pg_tblspc/16390/PG_15_202209061/...</c>), the
/// same string as its key in <c>files_metadata.json</c>'s <c>Files</c>; only <c>backup_label</c> and
/// <c>tablespace_map</c>, written from <c>pg_backup_stop</c>'s result, have no slash. WAL-G's restore extracts a
/// member only when its exact name is a key of <c>Files</c> or one of its utility files (<c>/global/pg_control</c>,
/// <c>backup_label</c>, <c>tablespace_map</c>), and always extracts those three (WAL-G:
/// <c>internal/databases/postgres/bundle.go</c> GetFileRelPath, uploadLabelFiles; <c>backup.go</c> UtilityFilePaths,
/// GetFilesToUnwrap). PgArchive's reader accepts members named with or without the slash (archives PgArchive wrote
/// before it followed this rule).
/// </summary>
internal static class WalGTarNames
{
    /// <summary>The member and file name of <c>backup_label</c>.</summary>
    public const string BackupLabel = "backup_label";

    /// <summary>The member and file name of <c>tablespace_map</c>.</summary>
    public const string TablespaceMap = "tablespace_map";

    /// <summary>The tar member name of a data directory entry: <c>/</c> + its path relative to the data directory.</summary>
    public static string Member(DataDirectoryEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return "/" + entry.TarPath;
    }

    /// <summary>
    /// The <c>files_metadata.json</c> key PgArchive uses for a member, whichever form its name has: <c>/</c> + the
    /// path relative to the data directory (<c>/base/5/1259</c>, <c>/backup_label</c>).
    /// </summary>
    public static string Key(string memberName)
    {
        ArgumentNullException.ThrowIfNull(memberName);
        var relative = memberName.Replace('\\', '/').TrimStart('/');
        while (relative.StartsWith("./", StringComparison.Ordinal))
        {
            relative = relative[2..].TrimStart('/');
        }

        return "/" + relative.TrimEnd('/');
    }

    /// <summary>
    /// True for the files WAL-G always restores from the backup being restored, listed in <c>Files</c> or not
    /// (WAL-G's own backups do not list them): <c>/global/pg_control</c>, <c>/backup_label</c>, <c>/tablespace_map</c>
    /// (as <see cref="Key"/> gives them).
    /// </summary>
    public static bool IsUtilityFile(string key) => key is "/global/pg_control" or "/" + BackupLabel or "/" + TablespaceMap;

    /// <summary>
    /// True for a tablespace's link under <c>pg_tblspc</c> (<c>pg_tblspc/16390</c>): WAL-G writes no member for it
    /// (restore recreates the link from the sentinel's <c>Spec</c>), only for what is inside the tablespace.
    /// </summary>
    public static bool IsTablespaceLink(DataDirectoryEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return entry.IsDirectory && entry.TarPath.StartsWith("pg_tblspc/", StringComparison.Ordinal) && entry.TarPath.IndexOf('/', 10) < 0;
    }
}
