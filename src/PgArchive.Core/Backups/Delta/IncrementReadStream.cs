using Microsoft.Win32.SafeHandles;
using PgArchive.IO;

namespace PgArchive.Backups.Delta;

/// <summary>
/// The page increment of one relation file, produced as a stream so the tar writer learns its size up front:
/// a first pass over the file picks the pages changed since the base backup's start LSN (only their block
/// numbers are kept in memory), then the stream yields the header and re-reads those pages, each run of
/// consecutive blocks (up to <see cref="MaxRunPages"/>) in one read.
/// </summary>
internal sealed class IncrementReadStream : Stream
{
    /// <summary>The most pages one read takes: 1 MiB, as the full backup's reads.</summary>
    internal const int MaxRunPages = 128;

    private readonly SafeFileHandle _file;
    private readonly byte[] _header;
    private readonly IReadOnlyList<uint> _blocks;
    private readonly byte[] _run;
    private readonly ByteRateLimiter? _diskLimiter;
    private long _position;
    private int _runFirst = -1; // index in _blocks of the first page in _run
    private int _runCount;
    private long _bytesRead;

    private IncrementReadStream(SafeFileHandle file, long fileSize, IReadOnlyList<uint> blocks, ByteRateLimiter? diskLimiter, long scanned)
    {
        _file = file;
        _bytesRead = scanned;
        _diskLimiter = diskLimiter;
        _blocks = blocks;
        var maxRun = Math.Min(MaxRunPages, diskLimiter is null ? int.MaxValue : Math.Max(1, diskLimiter.MaxChunk / PageIncrement.PageSize));
        _run = new byte[Math.Max(1, LongestRun(blocks, maxRun)) * PageIncrement.PageSize];
        _header = new byte[PageIncrement.FixedHeaderSize + (4 * blocks.Count)];
        PageIncrement.WriteHeader(_header, (ulong)fileSize, blocks);
        Length = PageIncrement.SizeOf(blocks.Count);
    }

    /// <summary>Pages the increment holds.</summary>
    public int PageCount => _blocks.Count;

    /// <summary>Bytes read from the file so far: the scan's, then each page's as the stream yields it.</summary>
    public long BytesRead => Interlocked.Read(ref _bytesRead);

    /// <summary>
    /// The increment of <paramref name="path"/> holding exactly <paramref name="blocks"/> (ascending block numbers a
    /// block source named), without scanning the file: only those pages are read, each once, as the stream yields
    /// them. The header records the file's size now; named blocks at or past its end are left out. Null when the
    /// file vanished.
    /// </summary>
    public static IncrementReadStream? OpenBlocks(string path, IReadOnlyList<uint> blocks, ByteRateLimiter? diskLimiter = null)
    {
        ArgumentNullException.ThrowIfNull(blocks);
        if (TryOpen(path) is not { } file)
        {
            return null;
        }

        try
        {
            var size = RandomAccess.GetLength(file);
            size -= size % PageIncrement.PageSize;
            var pages = (ulong)(size / PageIncrement.PageSize);
            var count = 0;
            while (count < blocks.Count && blocks[count] < pages)
            {
                count++;
            }

            var kept = count == blocks.Count ? blocks : blocks.Take(count).ToArray();
            return new IncrementReadStream(file, size, kept, diskLimiter, 0);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Scans <paramref name="path"/> (its first <paramref name="fileSize"/> bytes) and returns its increment over
    /// <paramref name="baseLsn"/>, or null when a page has an invalid header (the file is then stored whole,
    /// as WAL-G does) or the file vanished. With <paramref name="diskLimiter"/>, the scan and the pages read later keep to its rate.
    /// </summary>
    public static async Task<IncrementReadStream?> OpenAsync(string path, long fileSize, ulong baseLsn, CancellationToken cancellationToken,
        ByteRateLimiter? diskLimiter = null)
    {
        if (TryOpen(path) is not { } file)
        {
            return null;
        }

        try
        {
            // A large file is scanned in a few page-aligned ranges side by side: the scan is bound by memory
            // bandwidth and page checks, not by one reader, and a delta's time is mostly this scan.
            var pages = fileSize / PageIncrement.PageSize + (fileSize % PageIncrement.PageSize == 0 ? 0 : 1);
            var ranges = fileSize < ParallelScanThreshold ? 1 : (int)Math.Min(Math.Min(Environment.ProcessorCount, 4), pages);
            var perRange = (pages + ranges - 1) / ranges * PageIncrement.PageSize;
            var scans = new Task<List<uint>?>[ranges];
            for (var i = 0; i < ranges; i++)
            {
                var from = i * perRange;
                var to = Math.Min(fileSize, from + perRange);
                scans[i] = ranges == 1
                    ? ScanAsync(file, from, to, baseLsn, diskLimiter, cancellationToken)
                    : Task.Run(() => ScanAsync(file, from, to, baseLsn, diskLimiter, cancellationToken), cancellationToken);
            }

            // All ranges finish (or fail) before the handle can be closed.
            var found = await Task.WhenAll(scans).ConfigureAwait(false);
            if (found.Any(f => f is null))
            {
                file.Dispose();
                return null;
            }

            var blocks = found.SelectMany(f => f!).ToList();
            return new IncrementReadStream(file, fileSize, blocks, diskLimiter, fileSize);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>The file opened for positional reads, or null when it vanished.</summary>
    private static SafeFileHandle? TryOpen(string path)
    {
        try
        {
            return File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, FileOptions.Asynchronous);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }

    /// <summary>Files at least this large are scanned in parallel ranges.</summary>
    internal const long ParallelScanThreshold = 64L * 1024 * 1024;

    /// <summary>The changed pages' block numbers in [<paramref name="from"/>, <paramref name="to"/>), in order; null when a page is invalid.</summary>
    private static async Task<List<uint>?> ScanAsync(SafeFileHandle file, long from, long to, ulong baseLsn, ByteRateLimiter? diskLimiter,
        CancellationToken cancellationToken)
    {
        var blocks = new List<uint>();
        // Whole pages at a time; under a disk rate limit no more than the limiter lets through at once.
        var buffer = new byte[Math.Min(64, (diskLimiter?.MaxChunk ?? int.MaxValue) / PageIncrement.PageSize) * PageIncrement.PageSize];
        var offset = from;
        while (offset < to)
        {
            var want = (int)Math.Min(buffer.Length, to - offset);
            if (diskLimiter is not null)
            {
                await diskLimiter.TakeAsync(want, cancellationToken).ConfigureAwait(false);
            }

            var read = await RandomAccess.ReadAsync(file, buffer.AsMemory(0, want), offset, cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                break; // truncated while we read: what is gone needs no page; WAL replay truncates it too
            }

            var whole = read - (read % PageIncrement.PageSize);
            for (var at = 0; at < whole; at += PageIncrement.PageSize)
            {
                switch (PageIncrement.Classify(buffer.AsSpan(at, PageIncrement.PageSize), baseLsn))
                {
                    case PageIncrement.PageState.Changed:
                        blocks.Add((uint)((offset + at) / PageIncrement.PageSize));
                        break;
                    case PageIncrement.PageState.Invalid:
                        return null;
                    default:
                        break;
                }
            }

            if (whole == 0)
            {
                break;
            }

            offset += whole;
        }

        return blocks;
    }

    public override bool CanRead => true;
    public override bool CanSeek => true; // reads are positional: seeking is free
    public override bool CanWrite => false;
    public override long Length { get; }

    public override long Position
    {
        get => _position;
        set => _position = value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(value));
    }

    public override int Read(byte[] buffer, int offset, int count) =>
        ReadAsync(buffer.AsMemory(offset, count), CancellationToken.None).AsTask().GetAwaiter().GetResult();

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_position >= Length || buffer.Length == 0)
        {
            return 0;
        }

        if (_position < _header.Length)
        {
            var n = (int)Math.Min(buffer.Length, _header.Length - _position);
            _header.AsMemory((int)_position, n).CopyTo(buffer);
            _position += n;
            return n;
        }

        var intoPages = _position - _header.Length;
        var index = (int)(intoPages / PageIncrement.PageSize);
        if (index < _runFirst || index >= _runFirst + _runCount)
        {
            await ReadRunAsync(index, cancellationToken).ConfigureAwait(false);
        }

        var within = (int)(intoPages - ((long)_runFirst * PageIncrement.PageSize));
        var count = Math.Min(buffer.Length, (_runCount * PageIncrement.PageSize) - within);
        _run.AsMemory(within, count).CopyTo(buffer);
        _position += count;
        return count;
    }

    /// <summary>Reads the page at <paramref name="index"/> and the consecutive blocks after it that fit, in one read.</summary>
    private async Task ReadRunAsync(int index, CancellationToken cancellationToken)
    {
        var run = 1;
        var maxRun = _run.Length / PageIncrement.PageSize;
        while (run < maxRun && index + run < _blocks.Count && _blocks[index + run] == _blocks[index + run - 1] + 1)
        {
            run++;
        }

        var bytes = run * PageIncrement.PageSize;
        var offset = (long)_blocks[index] * PageIncrement.PageSize;
        if (_diskLimiter is not null)
        {
            await _diskLimiter.TakeAsync(bytes, cancellationToken).ConfigureAwait(false);
        }

        _runFirst = -1; // a read that fails leaves no run behind
        var filled = 0;
        while (filled < bytes)
        {
            var read = await RandomAccess.ReadAsync(_file, _run.AsMemory(filled, bytes - filled), offset + filled, cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                break;
            }

            filled += read;
            Interlocked.Add(ref _bytesRead, read);
        }

        // Truncated since the scan: the size recorded still says where the file ends; WAL replay truncates it again.
        _run.AsSpan(filled, bytes - filled).Clear();
        _runFirst = index;
        _runCount = run;
    }

    /// <summary>The longest run of consecutive blocks in <paramref name="blocks"/>, counted up to <paramref name="cap"/>.</summary>
    private static int LongestRun(IReadOnlyList<uint> blocks, int cap)
    {
        var longest = blocks.Count == 0 ? 0 : 1;
        var current = 1;
        for (var i = 1; i < blocks.Count && longest < cap; i++)
        {
            current = blocks[i] == blocks[i - 1] + 1 ? current + 1 : 1;
            longest = Math.Max(longest, current);
        }

        return longest;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => Position = origin switch
    {
        SeekOrigin.Begin => offset,
        SeekOrigin.Current => _position + offset,
        _ => Length + offset,
    };

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _file.Dispose();
        }

        base.Dispose(disposing);
    }
}
