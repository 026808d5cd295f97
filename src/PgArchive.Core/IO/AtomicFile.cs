namespace PgArchive.IO;

/// <summary>Writes a file so that readers see the whole of it or nothing: temporary file, fsync, rename, directory fsync.</summary>
internal static class AtomicFile
{
    public static async Task WriteAsync(string path, Stream content, string sourceName, CancellationToken cancellationToken)
    {
        var full = Path.GetFullPath(path);
        var directory = Path.GetDirectoryName(full)!;
        var temp = Path.Combine(directory, "." + Path.GetFileName(full) + ".pgarchive-tmp-" + Guid.NewGuid().ToString("N"));
        try
        {
            var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous);
            await using (file.ConfigureAwait(false))
            {
                try
                {
                    await content.CopyToAsync(file, 1 << 20, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is InvalidDataException or EndOfStreamException or FormatException)
                {
                    throw new PgArchiveException($"'{sourceName}' is corrupt or was not written with this configuration's encryption: {ex.Message}", ex);
                }

                await file.FlushAsync(cancellationToken).ConfigureAwait(false);
                file.Flush(flushToDisk: true);
            }

            File.Move(temp, full, overwrite: true);
            Durability.FlushDirectory(directory);
        }
        finally
        {
            try
            {
                File.Delete(temp);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }
}
