using System.Text.RegularExpressions;

namespace PgArchive.Backups;

/// <summary>One file or directory to put in a backup.</summary>
/// <param name="TarPath">Its path inside the tar, relative to the data directory ('/' separators); tablespaces under <c>pg_tblspc/&lt;oid&gt;/</c>.</param>
/// <param name="FullPath">Where it is on disk.</param>
/// <param name="IsDirectory">True for a directory.</param>
/// <param name="Size">Size when scanned (files only).</param>
internal sealed record DataDirectoryEntry(string TarPath, string FullPath, bool IsDirectory, long Size);

/// <summary>
/// Lists what a base backup holds, leaving out what PostgreSQL's documentation on base backups says to leave out
/// (the same lists as pg_basebackup): server state files, the contents of pg_wal and of the temporary
/// directories, temporary relations and files, and unlogged relations except their init forks. Tablespace
/// links under <c>pg_tblspc</c> are followed.
/// </summary>
internal static partial class DataDirectoryScanner
{
    /// <summary>Files never copied, wherever they are.</summary>
    private static readonly HashSet<string> ExcludedFiles = new(StringComparer.Ordinal)
    {
        "postmaster.pid", "postmaster.opts", "postgresql.auto.conf.tmp", "current_logfiles.tmp",
        "backup_label", "backup_label.old", "tablespace_map", "backup_manifest", "recovery.signal", "standby.signal",
        "recovery.conf", "recovery.done", // a standby's or a finished recovery's settings before PostgreSQL 12 (12+ refuses to start with recovery.conf)
        RecoveryOptions.SettingsFileName, // settings backup-fetch leaves for restore_command; may hold credentials
    };

    /// <summary>Directories copied empty, relative to the data directory.</summary>
    private static readonly HashSet<string> EmptiedDirectories = new(StringComparer.Ordinal)
    {
        "pg_wal", "pg_dynshmem", "pg_notify", "pg_replslot", "pg_serial", "pg_snapshots", "pg_stat_tmp", "pg_subtrans",
    };

    public static IEnumerable<DataDirectoryEntry> Scan(string dataDirectory)
    {
        var root = Path.GetFullPath(dataDirectory);
        foreach (var entry in ScanDirectory(root, "", isDataDirectory: true))
        {
            yield return entry;
        }
    }

    /// <summary>The tablespace links under pg_tblspc: OID → target directory.</summary>
    public static IReadOnlyDictionary<string, string> Tablespaces(string dataDirectory)
    {
        var result = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var tblspc = Path.Combine(dataDirectory, "pg_tblspc");
        if (!Directory.Exists(tblspc))
        {
            return result;
        }

        foreach (var link in new DirectoryInfo(tblspc).EnumerateFileSystemInfos())
        {
            if (link.LinkTarget is { } target && OidPattern().IsMatch(link.Name))
            {
                result[link.Name] = Path.GetFullPath(target, tblspc);
            }
        }

        return result;
    }

    private static IEnumerable<DataDirectoryEntry> ScanDirectory(string directory, string tarPrefix, bool isDataDirectory)
    {
        var info = new DirectoryInfo(directory);
        FileSystemInfo[] children;
        try
        {
            children = [.. info.EnumerateFileSystemInfos()];
        }
        catch (DirectoryNotFoundException)
        {
            yield break; // dropped while we scanned
        }

        Array.Sort(children, (a, b) => string.CompareOrdinal(a.Name, b.Name));
        var unlogged = UnloggedRelations(children);
        foreach (var child in children)
        {
            var tarPath = tarPrefix.Length == 0 ? child.Name : tarPrefix + "/" + child.Name;
            if (child.Name.StartsWith("pgsql_tmp", StringComparison.Ordinal) || child.Name.StartsWith("pg_internal.init", StringComparison.Ordinal))
            {
                continue;
            }

            if (child is DirectoryInfo || (child.LinkTarget is not null && Directory.Exists(child.FullName)))
            {
                var isTablespaceLink = isDataDirectory && tarPrefix == "pg_tblspc";
                if (child.LinkTarget is not null && !isTablespaceLink && !(isDataDirectory && tarPath == "pg_wal"))
                {
                    continue; // only tablespace links (and a symlinked pg_wal, copied empty) are followed
                }

                yield return new DataDirectoryEntry(tarPath, child.FullName, IsDirectory: true, 0);
                if (isDataDirectory && EmptiedDirectories.Contains(tarPath))
                {
                    if (tarPath == "pg_wal")
                    {
                        yield return new DataDirectoryEntry("pg_wal/archive_status", Path.Combine(child.FullName, "archive_status"), IsDirectory: true, 0);
                    }

                    continue;
                }

                var target = isTablespaceLink ? Path.GetFullPath(child.LinkTarget!, Path.GetDirectoryName(child.FullName)!) : child.FullName;
                foreach (var entry in ScanDirectory(target, tarPath, isDataDirectory && !isTablespaceLink))
                {
                    yield return entry;
                }

                continue;
            }

            if (child is not FileInfo file || child.LinkTarget is not null)
            {
                continue;
            }

            if ((isDataDirectory && tarPrefix.Length == 0 && ExcludedFiles.Contains(file.Name)) ||
                (file.Name.StartsWith('t') && TempRelationPattern().IsMatch(file.Name)) ||
                IsUnloggedNonInitFork(file.Name, unlogged))
            {
                continue;
            }

            yield return new DataDirectoryEntry(tarPath, file.FullName, IsDirectory: false, file.Length);
        }
    }

    private static HashSet<string>? UnloggedRelations(FileSystemInfo[] children)
    {
        HashSet<string>? relations = null;
        foreach (var child in children)
        {
            var match = RelationForkPattern().Match(child.Name);
            if (match.Success && match.Groups["fork"].Value == "_init")
            {
                (relations ??= new HashSet<string>(StringComparer.Ordinal)).Add(match.Groups["relnode"].Value);
            }
        }

        return relations;
    }

    private static bool IsUnloggedNonInitFork(string name, HashSet<string>? unlogged)
    {
        if (unlogged is null)
        {
            return false;
        }

        var match = RelationForkPattern().Match(name);
        return match.Success && match.Groups["fork"].Value != "_init" && unlogged.Contains(match.Groups["relnode"].Value);
    }

    [GeneratedRegex(@"^(?<relnode>\d+)(?<fork>_fsm|_vm|_init)?(\.\d+)?$", RegexOptions.CultureInvariant)]
    private static partial Regex RelationForkPattern();

    [GeneratedRegex(@"^t\d+_\d+(_fsm|_vm|_init)?(\.\d+)?$", RegexOptions.CultureInvariant)]
    private static partial Regex TempRelationPattern();

    [GeneratedRegex(@"^\d+$", RegexOptions.CultureInvariant)]
    private static partial Regex OidPattern();
}
