using System.Formats.Tar;
using PgArchive.IO;

namespace PgArchive.Backups.Delta;

/// <summary>Writes a relation file into a delta's tar as a page increment.</summary>
internal static class IncrementTarEntry
{
    /// <summary>
    /// Writes <paramref name="entry"/>'s increment over <paramref name="baseLsn"/>; returns null when the file
    /// cannot be stored as one (an invalid page, or it vanished): the caller then stores it whole.
    /// </summary>
    public static async Task<(WrittenEntry Written, int Pages)?> WriteAsync(TarWriter writer, DataDirectoryEntry entry, ulong baseLsn, ByteRateLimiter? diskLimiter,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(entry);
        var increment = await IncrementReadStream.OpenAsync(entry.FullPath, entry.Size, baseLsn, cancellationToken, diskLimiter).ConfigureAwait(false);
        if (increment is null)
        {
            return null;
        }

        var content = new InspectingReadStream(increment, null);
        await using (content.ConfigureAwait(false))
        {
            var tarEntry = new GnuTarEntry(TarEntryType.RegularFile, WalGTarNames.Member(entry))
            {
                DataStream = content,
                Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
                ModificationTime = File.GetLastWriteTimeUtc(entry.FullPath),
            };
            await writer.WriteEntryAsync(tarEntry, cancellationToken).ConfigureAwait(false);
            return (new WrittenEntry(content.HashHex, [], 0), increment.PageCount);
        }
    }
}
