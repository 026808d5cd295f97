using System.Globalization;
using System.IO.Hashing;
using PgArchive.IO;
using PgArchive.PostgresTypes;

namespace PgArchive.Wal;

/// <summary>
/// Records of WAL files uploaded ahead of their archive_command call, where WAL-G keeps them:
/// <c>pg_wal/walg_data/walg_archive_status/NAME</c>. A marker is written only after the store acknowledged a
/// durable write, and holds the size and XXH128 of the bytes uploaded, so that a file that changed since
/// (another timeline reusing nothing but a name would have another name; a <c>.partial</c> file rewritten,
/// a restored data directory carrying old markers) never passes: its archive_command call finds a marker
/// that does not match and pushes normally. A marker also names the archive it was stored in (a scope the
/// caller derives from its settings), so that pointing archive_command at another archive never skips a
/// segment that archive lacks. A marker is consumed (deleted) when it is used.
/// </summary>
public static class WalUploadMarkers
{
    /// <summary>The directory of the markers for the WAL directory <paramref name="walDirectory"/>.</summary>
    public static string DirectoryFor(string walDirectory) => Path.Combine(walDirectory, "walg_data", "walg_archive_status");

    /// <summary>
    /// True when <paramref name="walFilePath"/> was uploaded ahead and is unchanged since: the caller may report
    /// it archived without touching the store. The marker is removed either way once looked at; any doubt
    /// (unreadable marker, different size or hash, I/O error) is false and the caller pushes normally.
    /// </summary>
    public static bool TryConsume(string walFilePath, string scope = "")
    {
        ArgumentNullException.ThrowIfNull(scope);
        try
        {
            var full = Path.GetFullPath(walFilePath);
            var name = Path.GetFileName(full);
            if (WalFileName.Classify(name) != WalFileKind.Segment)
            {
                return false;
            }

            var marker = Path.Combine(DirectoryFor(Path.GetDirectoryName(full)!), name);
            if (!File.Exists(marker))
            {
                return false;
            }

            var recorded = File.ReadAllText(marker).Trim();
            var matches = recorded.Length > 0 && File.Exists(full) && string.Equals(recorded, Record(Describe(full), scope), StringComparison.Ordinal);
            File.Delete(marker);
            return matches;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>"size xxh128" of the file's current content.</summary>
    public static string Describe(string path)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1 << 16, FileOptions.SequentialScan);
        var hash = new XxHash128();
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(1 << 20);
        try
        {
            long size = 0;
            int read;
            while ((read = file.Read(buffer, 0, buffer.Length)) > 0)
            {
                hash.Append(buffer.AsSpan(0, read));
                size += read;
            }

            return string.Create(CultureInfo.InvariantCulture, $"{size} {Convert.ToHexStringLower(hash.GetCurrentHash())}");
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Records that <paramref name="walFilePath"/>, described by <paramref name="description"/>, is durably stored.</summary>
    internal static async Task WriteAsync(string walFilePath, string description, string scope, CancellationToken cancellationToken)
    {
        var full = Path.GetFullPath(walFilePath);
        var directory = DirectoryFor(Path.GetDirectoryName(full)!);
        UnixFiles.CreatePrivateDirectory(directory);
        using var content = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(Record(description, scope) + "\n"));
        await AtomicFile.WriteAsync(Path.Combine(directory, Path.GetFileName(full)), content, "marker", cancellationToken).ConfigureAwait(false);
    }

    private static string Record(string description, string scope) => scope.Length == 0 ? description : description + " " + scope;
}
