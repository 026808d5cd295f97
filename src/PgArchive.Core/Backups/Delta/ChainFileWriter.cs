using System.Buffers;
using System.Collections.Concurrent;
using Microsoft.Win32.SafeHandles;
using PgArchive.IO;

namespace PgArchive.Backups.Delta;

/// <summary>
/// Writes the files of a delta chain. Forward (oldest backup first): a whole file replaces what is there, an
/// increment truncates the file to its recorded size and overwrites its pages. Reverse (newest first, WAL-G's
/// <c>--reverse-unpack</c>): each page is written once, by the newest backup that holds it; older copies only
/// fill the pages still missing. Pages that follow each other are written together, up to
/// <see cref="WriteBehindFileCopy.ChunkSize"/> at a time; a whole file is written as a full backup's restore writes
/// it (blocks reserved up front, writes behind the reads). The partitions of one backup hold disjoint files and may
/// be written side by side. Memory: the block numbers written so far of files restored from increments.
/// </summary>
/// <param name="reverse">True when writing newest backup first.</param>
/// <param name="startWriteback">Start the writeback to disk of what is written as it is written (a restore flushed at the end).</param>
internal sealed class ChainFileWriter(bool reverse, bool startWriteback = false)
{
    private const int RunPages = WriteBehindFileCopy.ChunkSize / PageIncrement.PageSize;

    private readonly ConcurrentDictionary<string, PartialFile?> _seen = new(StringComparer.Ordinal);

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

            using var file = File.OpenHandle(destination, FileMode.Create, FileAccess.Write, FileShare.None, FileOptions.Asynchronous, preallocationSize: length);
            if (data is not null)
            {
                await WriteBehindFileCopy.CopyAsync(data, file, startWriteback, cancellationToken).ConfigureAwait(false);
            }

            return true;
        }

        if (partial is null)
        {
            return false; // a newer backup holds the whole file
        }

        // Older whole copy of a file newer increments already wrote parts of: fill only the missing pages.
        _seen[destination] = null;
        if (data is not null)
        {
            using var handle = File.OpenHandle(destination, FileMode.Open, FileAccess.Write, FileShare.None, FileOptions.Asynchronous);
            await FillMissingPagesAsync(data, length, handle, partial, cancellationToken).ConfigureAwait(false);
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

        // Newest first, the file is made here: its blocks are reserved in one go, so the pages older backups fill in later
        // lie beside those written now rather than wherever the file system puts them at writeback.
        var created = reverse && fresh;
        using (var handle = File.OpenHandle(destination, created ? FileMode.Create : FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None,
            FileOptions.Asynchronous, preallocationSize: created ? header.FileSize : 0))
        {
            if (fresh)
            {
                RandomAccess.SetLength(handle, header.FileSize);
            }

            using var run = new PageRun(handle, startWriteback);
            foreach (var block in header.Blocks)
            {
                var offset = (long)block * PageIncrement.PageSize;
                var page = await run.NextPageAsync(offset, cancellationToken).ConfigureAwait(false);
                try
                {
                    await data.ReadExactlyAsync(page, cancellationToken).ConfigureAwait(false);
                }
                catch (EndOfStreamException ex)
                {
                    throw new InvalidDataException($"'{path}': the page increment is truncated.", ex);
                }

                if (reverse && (offset >= partial!.Size || !partial.Written.Add(block)))
                {
                    continue; // beyond the newest size, or already written by a newer backup
                }

                run.Keep();
            }

            await run.FlushAsync(cancellationToken).ConfigureAwait(false);
        }

        if (await data.ReadAsync(new byte[1], cancellationToken).ConfigureAwait(false) > 0)
        {
            throw new InvalidDataException($"'{path}': data after the page increment's last page.");
        }

        return true;
    }

    /// <summary>
    /// Writes the pages of the whole copy in <paramref name="data"/> that newer backups did not write, within the newest
    /// size: read a chunk at a time, each chunk's runs of missing pages written while the next chunk is read.
    /// </summary>
    private async Task FillMissingPagesAsync(Stream data, long length, SafeFileHandle handle, PartialFile partial, CancellationToken cancellationToken)
    {
        var filling = ArrayPool<byte>.Shared.Rent(WriteBehindFileCopy.ChunkSize);
        var writing = ArrayPool<byte>.Shared.Rent(WriteBehindFileCopy.ChunkSize);
        var pending = Task.CompletedTask;
        try
        {
            for (long offset = 0; offset < length;)
            {
                var read = (int)Math.Min(WriteBehindFileCopy.ChunkSize, length - offset);
                await data.ReadExactlyAsync(filling.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                await pending.ConfigureAwait(false); // the previous chunk is written: its buffer may be filled again
                pending = WriteMissingAsync(handle, filling.AsMemory(0, read), offset, partial, cancellationToken);
                (filling, writing) = (writing, filling);
                offset += read;
            }

            await pending.ConfigureAwait(false);
        }
        finally
        {
            // A read that failed with a write in flight: the buffer goes back to the pool only once that write is over.
            try
            {
                await pending.ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or OperationCanceledException or UnauthorizedAccessException)
            {
                // The first failure is the one the caller sees.
            }

            ArrayPool<byte>.Shared.Return(filling);
            ArrayPool<byte>.Shared.Return(writing);
        }
    }

    /// <summary>Writes the runs of pages of <paramref name="chunk"/> (at <paramref name="offset"/> in the file) that <paramref name="partial"/> still misses.</summary>
    private async Task WriteMissingAsync(SafeFileHandle handle, ReadOnlyMemory<byte> chunk, long offset, PartialFile partial, CancellationToken cancellationToken)
    {
        var end = Math.Min(offset + chunk.Length, partial.Size);
        var at = offset;
        while (at < end)
        {
            while (at < end && partial.Written.Contains((uint)(at / PageIncrement.PageSize)))
            {
                at += PageIncrement.PageSize;
            }

            var from = at;
            while (at < end && !partial.Written.Contains((uint)(at / PageIncrement.PageSize)))
            {
                at += PageIncrement.PageSize;
            }

            at = Math.Min(at, end);
            if (at > from)
            {
                await RandomAccess.WriteAsync(handle, chunk.Slice((int)(from - offset), (int)(at - from)), from, cancellationToken).ConfigureAwait(false);
                if (startWriteback)
                {
                    Durability.StartWriteback(handle, from, at - from);
                }
            }
        }
    }

    private sealed class PartialFile(long size)
    {
        public long Size { get; } = size;

        public HashSet<uint> Written { get; } = [];
    }

    /// <summary>
    /// Gathers pages to write that follow each other in the file into one buffer, written in one call when the next
    /// page to keep does not follow, the buffer is full, or at the end. A page read but not kept leaves no gap in
    /// what is written: the run ends before it.
    /// </summary>
    private sealed class PageRun(SafeFileHandle handle, bool startWriteback) : IDisposable
    {
        private readonly byte[] _buffer = ArrayPool<byte>.Shared.Rent(RunPages * PageIncrement.PageSize);
        private long _start;
        private int _bytes;

        /// <summary>The space for the page at <paramref name="offset"/>: after the run when it follows it, else at the start of a new run.</summary>
        public async ValueTask<Memory<byte>> NextPageAsync(long offset, CancellationToken cancellationToken)
        {
            if (_bytes > 0 && (offset != _start + _bytes || _bytes % PageIncrement.PageSize != 0 || _bytes == RunPages * PageIncrement.PageSize))
            {
                await FlushAsync(cancellationToken).ConfigureAwait(false);
            }

            if (_bytes == 0)
            {
                _start = offset;
            }

            return _buffer.AsMemory(_bytes, PageIncrement.PageSize);
        }

        /// <summary>Keeps the first <paramref name="bytes"/> of the page last handed out to be written.</summary>
        public void Keep(int bytes = PageIncrement.PageSize) => _bytes += bytes;

        public async ValueTask FlushAsync(CancellationToken cancellationToken)
        {
            if (_bytes > 0)
            {
                await RandomAccess.WriteAsync(handle, _buffer.AsMemory(0, _bytes), _start, cancellationToken).ConfigureAwait(false);
                if (startWriteback)
                {
                    Durability.StartWriteback(handle, _start, _bytes);
                }
                _bytes = 0;
            }
        }

        public void Dispose() => ArrayPool<byte>.Shared.Return(_buffer);
    }
}
