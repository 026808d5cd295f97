namespace PgArchive.Backups.Delta;

/// <summary>
/// Writes the files of a delta chain. Forward (oldest backup first): a whole file replaces what is there, an
/// increment truncates the file to its recorded size and overwrites its pages. Reverse (newest first, WAL-G's
/// <c>--reverse-unpack</c>): each page is written once, by the newest backup that holds it; older copies only
/// fill the pages still missing. Memory: the block numbers written so far of files restored from increments.
/// </summary>
internal sealed class ChainFileWriter(bool reverse)
{
    private readonly Dictionary<string, PartialFile?> _seen = new(StringComparer.Ordinal);

    /// <summary>True when writing newest backup first.</summary>
    public bool Reverse => reverse;

    /// <summary>True when (reverse) a newer backup already wrote all of <paramref name="destination"/>: no older copy is needed.</summary>
    public bool IsComplete(string destination) => reverse && _seen.TryGetValue(destination, out var partial) && partial is null;

    /// <summary>
    /// Writes a whole file's <paramref name="length"/> bytes from <paramref name="data"/>; returns false when
    /// (reverse) a newer backup already wrote all of it.
    /// </summary>
    public async Task<bool> WriteWholeAsync(Stream? data, long length, string destination, CancellationToken cancellationToken)
    {
        if (!reverse || !_seen.TryGetValue(destination, out var partial))
        {
            if (reverse)
            {
                _seen[destination] = null;
            }

            var file = new FileStream(destination, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous);
            await using (file.ConfigureAwait(false))
            {
                if (data is not null)
                {
                    await data.CopyToAsync(file, 1 << 20, cancellationToken).ConfigureAwait(false);
                }
            }

            return true;
        }

        if (partial is null)
        {
            return false; // a newer backup holds the whole file
        }

        // Older whole copy of a file newer increments already wrote parts of: fill only the missing pages.
        _seen[destination] = null;
        if (data is null)
        {
            return true;
        }

        var handle = File.OpenHandle(destination, FileMode.Open, FileAccess.Write, FileShare.None, FileOptions.Asynchronous);
        using (handle)
        {
            var page = new byte[PageIncrement.PageSize];
            long offset = 0;
            while (offset < length)
            {
                var want = (int)Math.Min(page.Length, length - offset);
                await data.ReadExactlyAsync(page.AsMemory(0, want), cancellationToken).ConfigureAwait(false);
                var block = (uint)(offset / PageIncrement.PageSize);
                if (offset < partial.Size && !partial.Written.Contains(block))
                {
                    var n = (int)Math.Min(want, partial.Size - offset);
                    await RandomAccess.WriteAsync(handle, page.AsMemory(0, n), offset, cancellationToken).ConfigureAwait(false);
                }

                offset += want;
            }
        }

        return true;
    }

    /// <summary>Applies the increment read from <paramref name="data"/> to <paramref name="destination"/>; false when there was nothing to write.</summary>
    /// <exception cref="InvalidDataException">The increment is malformed.</exception>
    public async Task<bool> ApplyIncrementAsync(Stream data, string path, string destination, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(data);
        var header = await PageIncrement.ReadHeaderAsync(data, path, cancellationToken).ConfigureAwait(false);
        PartialFile? partial = null;
        var fresh = !reverse;
        if (reverse)
        {
            if (_seen.TryGetValue(destination, out partial) && partial is null)
            {
                return false; // a newer backup holds the whole file
            }

            if (partial is null)
            {
                partial = new PartialFile(header.FileSize);
                _seen[destination] = partial;
                fresh = true;
            }
        }

        var handle = File.OpenHandle(destination, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, FileOptions.Asynchronous);
        using (handle)
        {
            if (fresh)
            {
                RandomAccess.SetLength(handle, header.FileSize);
            }

            var page = new byte[PageIncrement.PageSize];
            foreach (var block in header.Blocks)
            {
                try
                {
                    await data.ReadExactlyAsync(page, cancellationToken).ConfigureAwait(false);
                }
                catch (EndOfStreamException ex)
                {
                    throw new InvalidDataException($"'{path}': the page increment is truncated.", ex);
                }

                var offset = (long)block * PageIncrement.PageSize;
                if (reverse && (offset >= partial!.Size || !partial.Written.Add(block)))
                {
                    continue; // beyond the newest size, or already written by a newer backup
                }

                await RandomAccess.WriteAsync(handle, page, offset, cancellationToken).ConfigureAwait(false);
            }
        }

        if (await data.ReadAsync(new byte[1], cancellationToken).ConfigureAwait(false) > 0)
        {
            throw new InvalidDataException($"'{path}': data after the page increment's last page.");
        }

        return true;
    }

    private sealed class PartialFile(long size)
    {
        public long Size { get; } = size;

        public HashSet<uint> Written { get; } = [];
    }
}
