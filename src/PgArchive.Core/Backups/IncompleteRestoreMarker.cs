namespace PgArchive.Backups;

/// <summary>
/// The file that marks a restore target as incomplete: written before the first byte is restored, removed only
/// when the restore succeeded. A failed restore leaves the target holding just this file, with the reason; a
/// restore killed midway leaves it beside the partial files (and no <c>global/pg_control</c>, which is restored
/// last, so PostgreSQL does not start there). A directory holding only the marker counts as empty for the next
/// backup-fetch.
/// </summary>
public static class IncompleteRestoreMarker
{
    /// <summary>The marker's file name.</summary>
    public const string FileName = "PGARCHIVE_RESTORE_INCOMPLETE";

    /// <summary>True when <paramref name="directory"/> holds nothing, or nothing but the marker.</summary>
    public static bool IsEmptyOrMarkedOnly(string directory) =>
        Directory.EnumerateFileSystemEntries(directory).All(e => Path.GetFileName(e) == FileName);

    internal static async Task WriteAsync(string directory, string text, CancellationToken cancellationToken)
    {
        var path = Path.Combine(directory, FileName);
        await File.WriteAllTextAsync(path, text + Environment.NewLine, cancellationToken).ConfigureAwait(false);
        IO.Durability.FlushDirectory(directory);
    }

    internal static void Remove(string directory) => File.Delete(Path.Combine(directory, FileName));
}
