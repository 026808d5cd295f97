using System.Formats.Tar;
using System.Text;
using PgArchive.IO;

namespace PgArchive.Backups;

/// <summary>Writes backup entries into a tar stream (GNU format, paths relative to the data directory).</summary>
internal static class TarEntries
{
    /// <summary>Writes one entry; returns false when a file vanished before it could be opened.</summary>
    public static async Task<bool> WriteAsync(TarWriter writer, DataDirectoryEntry entry, CancellationToken cancellationToken)
    {
        if (entry.IsDirectory)
        {
            var directory = new GnuTarEntry(TarEntryType.Directory, entry.TarPath)
            {
                Mode = ModeOf(entry.FullPath, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute),
                ModificationTime = Directory.Exists(entry.FullPath) ? Directory.GetLastWriteTimeUtc(entry.FullPath) : DateTime.UtcNow,
            };
            await writer.WriteEntryAsync(directory, cancellationToken).ConfigureAwait(false);
            return true;
        }

        FileStream file;
        try
        {
            file = new FileStream(entry.FullPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1 << 16,
                FileOptions.Asynchronous | FileOptions.SequentialScan);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return false;
        }

        var content = new FixedLengthReadStream(file, file.Length);
        await using (content.ConfigureAwait(false))
        {
            var tarEntry = new GnuTarEntry(TarEntryType.RegularFile, entry.TarPath)
            {
                DataStream = content,
                Mode = ModeOf(entry.FullPath, UnixFileMode.UserRead | UnixFileMode.UserWrite),
                ModificationTime = File.GetLastWriteTimeUtc(entry.FullPath),
            };
            await writer.WriteEntryAsync(tarEntry, cancellationToken).ConfigureAwait(false);
        }

        return true;
    }

    /// <summary>Writes a file whose content is text, e.g. backup_label from pg_backup_stop.</summary>
    public static Task WriteTextAsync(TarWriter writer, string tarPath, string text, DateTime modified, CancellationToken cancellationToken)
    {
        var entry = new GnuTarEntry(TarEntryType.RegularFile, tarPath)
        {
            DataStream = new MemoryStream(Encoding.UTF8.GetBytes(text)),
            Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            ModificationTime = modified,
        };
        return writer.WriteEntryAsync(entry, cancellationToken);
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
