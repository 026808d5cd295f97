namespace PgArchive.Backups;

/// <summary>
/// The file that marks a restore target (and each tablespace location it restores into) as incomplete: written
/// before the first byte is restored, removed only when the restore succeeded. A failed restore leaves the target
/// holding just this file, with the reason; a restore killed midway leaves it beside the partial files (and no
/// <c>global/pg_control</c>, which is restored last, so PostgreSQL does not start there). A directory holding only
/// the marker counts as empty for the next backup-fetch; one holding the marker and more is an interrupted restore,
/// which backup-fetch clears only when asked (<see cref="BackupFetchRequest.RestartInterrupted"/>).
/// </summary>
public static class IncompleteRestoreMarker
{
    /// <summary>The marker's file name.</summary>
    public const string FileName = "PGARCHIVE_RESTORE_INCOMPLETE";

    /// <summary>The most of the marker's text <see cref="Read"/> returns.</summary>
    private const int MaxReadLength = 1000;

    /// <summary>True when <paramref name="directory"/> holds nothing, or nothing but the marker.</summary>
    public static bool IsEmptyOrMarkedOnly(string directory) =>
        Directory.EnumerateFileSystemEntries(directory).All(e => Path.GetFileName(e) == FileName);

    /// <summary>
    /// What the marker in <paramref name="directory"/> says (its first line, at most 1000 characters), or null when
    /// the directory holds no marker (a regular file of that name).
    /// </summary>
    public static string? Read(string directory)
    {
        var path = Path.Combine(directory, FileName);
        if (!File.Exists(path) || new FileInfo(path).LinkTarget is not null)
        {
            return null;
        }

        using var reader = new StreamReader(path);
        var buffer = new char[MaxReadLength];
        var read = reader.ReadBlock(buffer);
        var text = new string(buffer, 0, read);
        var lineEnd = text.IndexOfAny(['\r', '\n']);
        return (lineEnd >= 0 ? text[..lineEnd] : text).Trim();
    }

    internal static async Task WriteAsync(string directory, string text, CancellationToken cancellationToken)
    {
        var path = Path.Combine(directory, FileName);
        await File.WriteAllTextAsync(path, text + Environment.NewLine, cancellationToken).ConfigureAwait(false);
        IO.Durability.FlushDirectory(directory);
    }

    internal static void Remove(string directory) => File.Delete(Path.Combine(directory, FileName));
}
