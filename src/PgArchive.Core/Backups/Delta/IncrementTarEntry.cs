using System.Formats.Tar;
using PgArchive.IO;

namespace PgArchive.Backups.Delta;

/// <summary>Writes a relation file into a delta's tar as a page increment.</summary>
internal static class IncrementTarEntry
{
    /// <summary>
    /// Writes <paramref name="entry"/>'s increment over <paramref name="baseLsn"/>: of the pages <paramref name="blocks"/>
    /// names (segment-relative, ascending: a block source's answer; only they are read), or, when it is null, of the
    /// pages a scan of the whole file finds changed. Returns null when the file cannot be stored as one (an invalid
    /// page, or it vanished): the caller then stores it whole.
    /// </summary>
    public static async Task<WrittenIncrement?> WriteAsync(TarWriter writer, DataDirectoryEntry entry, ulong baseLsn, IReadOnlyList<uint>? blocks,
        ByteRateLimiter? diskLimiter, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(entry);
        var increment = blocks is null
            ? await IncrementReadStream.OpenAsync(entry.FullPath, entry.Size, baseLsn, cancellationToken, diskLimiter).ConfigureAwait(false)
            : IncrementReadStream.OpenBlocks(entry.FullPath, blocks, diskLimiter);
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
            return new WrittenIncrement(new WrittenEntry(content.HashHex, [], 0), increment.PageCount, increment.BytesRead);
        }
    }
}

/// <summary>An increment written into a tar.</summary>
/// <param name="Written">What the tar entry's writing recorded (its XXH128).</param>
/// <param name="Pages">Pages it holds.</param>
/// <param name="BytesRead">Bytes read from the relation file to build it.</param>
internal sealed record WrittenIncrement(WrittenEntry Written, int Pages, long BytesRead);
