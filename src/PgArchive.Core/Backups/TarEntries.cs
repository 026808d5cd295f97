using System.Formats.Tar;
using System.Text;
using PgArchive.IO;

namespace PgArchive.Backups;

/// <summary>Writes backup entries into a tar stream (GNU format, members named as WAL-G names them: see <see cref="WalGTarNames"/>).</summary>
internal static class TarEntries
{
    /// <summary>
    /// Writes one entry; returns null when a file vanished before it could be opened. A file's bytes are hashed
    /// (XXH128) and, when <paramref name="pages"/> is given, their page checksums verified as they stream in.
    /// When <paramref name="diskGate"/> is given, every read of the file takes one of its slots; when
    /// <paramref name="diskLimiter"/> is given, the reads keep to its rate (shared with every other reader of the backup).
    /// With <paramref name="directReads"/>, a file of <see cref="DirectReadStream.ChunkSize"/> or more is read with
    /// O_DIRECT where the filesystem allows (see <see cref="DirectReadStream"/>), through the page cache otherwise.
    /// </summary>
    public static async Task<WrittenEntry?> WriteAsync(TarWriter writer, DataDirectoryEntry entry, PageChecksumVerifier? pages, CancellationToken cancellationToken,
        SemaphoreSlim? diskGate = null, ByteRateLimiter? diskLimiter = null, bool directReads = false)
    {
        if (entry.IsDirectory)
        {
            var directory = new GnuTarEntry(TarEntryType.Directory, WalGTarNames.Member(entry))
            {
                Mode = ModeOf(entry.FullPath, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute),
#pragma warning disable RS0030 // the header time of a directory that vanished mid-backup (restore ignores it): no clock the tests drive
                ModificationTime = Directory.Exists(entry.FullPath) ? Directory.GetLastWriteTimeUtc(entry.FullPath) : DateTime.UtcNow,
#pragma warning restore RS0030
            };
            await writer.WriteEntryAsync(directory, cancellationToken).ConfigureAwait(false);
            return WrittenEntry.Directory;
        }

        Stream source;
        long length;
        DirectReadStream? direct = null;
        try
        {
            if (directReads && entry.Size >= DirectReadStream.ChunkSize && DirectReadStream.TryOpen(entry.FullPath, diskGate) is { } opened)
            {
                (source, length, direct) = (opened, opened.Length, opened);
            }
            else
            {
                var file = new FileStream(entry.FullPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1 << 16,
                    FileOptions.Asynchronous | FileOptions.SequentialScan);
                (source, length) = (diskGate is null ? file : new GatedReadStream(file, diskGate), file.Length);
            }
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }

        var pageCheck = pages?.Begin(entry.TarPath, entry.FullPath);
        source = RateLimitedReadStream.Over(source, diskLimiter);
        var content = new InspectingReadStream(new FixedLengthReadStream(source, length), pageCheck);
        await using (content.ConfigureAwait(false))
        {
            var tarEntry = new GnuTarEntry(TarEntryType.RegularFile, WalGTarNames.Member(entry))
            {
                DataStream = content,
                Mode = ModeOf(entry.FullPath, UnixFileMode.UserRead | UnixFileMode.UserWrite),
                ModificationTime = File.GetLastWriteTimeUtc(entry.FullPath),
            };
            await writer.WriteEntryAsync(tarEntry, cancellationToken).ConfigureAwait(false);
            return new WrittenEntry(content.HashHex, pageCheck?.CorruptBlocks ?? [], pageCheck?.PagesVerified ?? 0) { Size = length, ReadDirectly = direct?.BytesDirect ?? 0 };
        }
    }

    /// <summary>Writes a file whose content is text, e.g. backup_label from pg_backup_stop; returns its XXH128 (hex).</summary>
    public static async Task<string> WriteTextAsync(TarWriter writer, string tarPath, string text, DateTime modified, CancellationToken cancellationToken)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        var entry = new GnuTarEntry(TarEntryType.RegularFile, tarPath)
        {
            DataStream = new MemoryStream(bytes),
            Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            ModificationTime = modified,
        };
        await writer.WriteEntryAsync(entry, cancellationToken).ConfigureAwait(false);
        return Convert.ToHexStringLower(System.IO.Hashing.XxHash128.Hash(bytes));
    }

    private static UnixFileMode ModeOf(string path, UnixFileMode fallback)
    {
        if (OperatingSystem.IsWindows())
        {
            return fallback;
        }

        try
        {
            return File.GetUnixFileMode(path);
        }
        catch (IOException)
        {
            return fallback;
        }
    }
}

/// <summary>What writing one entry found: the content hash of a file, and the blocks whose page checksum failed.</summary>
/// <param name="XxHash128">Lower-case hex XXH128 of the bytes stored; null for a directory.</param>
/// <param name="CorruptBlocks">File-relative block numbers whose checksum did not match.</param>
/// <param name="PagesVerified">Pages whose checksum was compared.</param>
internal sealed record WrittenEntry(string? XxHash128, IReadOnlyList<uint> CorruptBlocks, long PagesVerified)
{
    /// <summary>Bytes of the file stored in the tar (its length when opened).</summary>
    public long Size { get; init; }

    /// <summary>Bytes of the file read from the disk with O_DIRECT rather than through the page cache.</summary>
    public long ReadDirectly { get; init; }

    public static readonly WrittenEntry Directory = new(null, [], 0);
}
