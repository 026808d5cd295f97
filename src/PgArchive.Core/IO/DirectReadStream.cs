using System.Buffers;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace PgArchive.IO;

/// <summary>
/// Reads a file 1 MiB at a time, the next read in flight while the current one is consumed, taking what the page cache
/// holds from the cache and the rest from the disk with O_DIRECT. On a cold read, going through the cache costs as
/// much CPU as compressing (the kernel allocates, fills and copies out every page) and pushes the database's hot
/// pages out; O_DIRECT has the disk write straight into this stream's buffers. Pages already cached are copied from
/// the cache (mincore(2) tells which, without reading anything), so a database that fits in memory is not read from
/// the disk again. O_DIRECT reads see what PostgreSQL wrote: the kernel writes a range's dirty cached pages
/// back before reading it directly. Bounded memory: two 1 MiB buffers per open file.
/// <see cref="TryOpen"/> returns null where O_DIRECT is not available (not Linux, a filesystem that refuses it
/// such as tmpfs): the caller then reads through the page cache as before.
/// </summary>
internal sealed partial class DirectReadStream : ReadOnlyStream
{
    /// <summary>The size of each read; a multiple of every logical block size in use (512 B, 4 KiB).</summary>
    public const int ChunkSize = 1 << 20;

    /// <summary>O_DIRECT's buffers, offsets and lengths are aligned to pages (at least 4 KiB, the largest logical block size in use).</summary>
    private static readonly int PageSize = Math.Max(4096, Environment.SystemPageSize);

    private readonly SafeFileHandle _handle;
    private readonly SafeFileHandle _cached;
    private readonly SemaphoreSlim? _gate;
    private readonly CancellationTokenSource _disposing = new();
    private readonly NativeChunk[] _chunks = [new(ChunkSize, PageSize), new(ChunkSize, PageSize)];
    private readonly Task<int>[] _reads = new Task<int>[2];
    private long _nextOffset;
    private int _current;
    private int _position;
    private int _available;
    private bool _ended;
    private bool _disposed;
    private long _bytesFromCache;
    private long _bytesDirect;

    private DirectReadStream(SafeFileHandle handle, SafeFileHandle cached, SemaphoreSlim? gate)
    {
        _handle = handle;
        _cached = cached;
        _gate = gate;
        Length = RandomAccess.GetLength(handle);
        _reads[0] = Issue(0);
        _reads[1] = Issue(1);
    }

    /// <summary>The file's size when it was opened.</summary>
    public new long Length { get; }

    /// <summary>Bytes read from the page cache so far (reads in flight included).</summary>
    public long BytesFromCache => Interlocked.Read(ref _bytesFromCache);

    /// <summary>Bytes read from the disk with O_DIRECT so far (reads in flight included).</summary>
    public long BytesDirect => Interlocked.Read(ref _bytesDirect);

    /// <summary>
    /// Opens <paramref name="path"/> for direct reads, or returns null when the page cache already holds most of it
    /// (reading it through the cache then costs no disk read and no more CPU) or when this system or its filesystem
    /// does not do O_DIRECT. A missing file throws <see cref="FileNotFoundException"/>, as opening it otherwise would.
    /// When <paramref name="gate"/> is given, every read from the disk takes one of its slots (WALG_UPLOAD_DISK_CONCURRENCY).
    /// </summary>
    public static DirectReadStream? TryOpen(string path, SemaphoreSlim? gate = null)
    {
        if (!OperatingSystem.IsLinux() || DirectFlag() is not { } direct)
        {
            return null;
        }

        var cached = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        SafeFileHandle? handle = null;
        try
        {
            // EINVAL: the filesystem does not do O_DIRECT; anything else (the file removed meanwhile, ...) the ordinary
            // open the caller falls back to reports in its own words.
            var fd = MostlyCached(cached) ? -1 : Open(path, ReadOnly | CloseOnExec | direct);
            if (fd < 0)
            {
                cached.Dispose();
                return null;
            }

            handle = new SafeFileHandle(fd, ownsHandle: true);
            return new DirectReadStream(handle, cached, gate);
        }
        catch
        {
            handle?.Dispose();
            cached.Dispose();
            throw;
        }
    }

    /// <summary>True when the page cache holds at least half of the file's pages (see <see cref="PageCacheResidency"/>).</summary>
    private static bool MostlyCached(SafeFileHandle file)
    {
        var length = RandomAccess.GetLength(file);
        if (length == 0)
        {
            return true;
        }

        var pages = (int)((length + PageSize - 1) / PageSize);
        var resident = ArrayPool<byte>.Shared.Rent(pages);
        try
        {
            if (!PageCacheResidency.TryGet(file, 0, length, resident))
            {
                return false;
            }

            var count = 0L;
            for (var i = 0; i < pages; i++)
            {
                count += resident[i] & 1;
            }

            return count * 2 >= pages;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(resident);
        }
    }

    public override int Read(Span<byte> buffer)
    {
        if (buffer.IsEmpty || !FillAsync(CancellationToken.None).AsTask().GetAwaiter().GetResult())
        {
            return 0;
        }

        return Take(buffer);
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return buffer.IsEmpty || !await FillAsync(cancellationToken).ConfigureAwait(false) ? 0 : Take(buffer.Span);
    }

    /// <summary>Makes bytes of the current chunk available; false at the file's end.</summary>
    private async ValueTask<bool> FillAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        while (_position == _available)
        {
            if (_ended)
            {
                return false;
            }

            // The chunk consumed goes back to the disk for the read after the next; this one's read is awaited.
            if (_available > 0)
            {
                _reads[_current] = Issue(_current);
                _current ^= 1;
            }

            _available = await _reads[_current].WaitAsync(cancellationToken).ConfigureAwait(false);
            _position = 0;
            // A short read is the file's end (or its truncation meanwhile).
            _ended = _available < ChunkSize;
        }

        return true;
    }

    private int Take(Span<byte> buffer)
    {
        var count = Math.Min(buffer.Length, _available - _position);
        _chunks[_current].Memory.Span.Slice(_position, count).CopyTo(buffer);
        _position += count;
        return count;
    }

    protected override void Dispose(bool disposing)
    {
        if (!_disposed && disposing)
        {
            _disposed = true;
            _disposing.Cancel();
            foreach (var read in _reads)
            {
                // A read still in flight writes into its chunk: wait for it before the memory goes.
                try
                {
                    read.GetAwaiter().GetResult();
                }
                catch (Exception ex) when (ex is IOException or OperationCanceledException)
                {
                }
            }

            _disposing.Dispose();

            _handle.Dispose();
            _cached.Dispose();
            foreach (var chunk in _chunks)
            {
                ((IDisposable)chunk).Dispose();
            }
        }

        base.Dispose(disposing);
    }

    private Task<int> Issue(int index)
    {
        var offset = _nextOffset;
        _nextOffset += ChunkSize;
        return offset >= Length ? Task.FromResult(0) : ReadChunkAsync(_chunks[index], offset);
    }

    private async Task<int> ReadChunkAsync(NativeChunk chunk, long offset)
    {
        if (_gate is not null)
        {
            await _gate.WaitAsync(_disposing.Token).ConfigureAwait(false);
        }

        try
        {
            // Off the caller's thread: the reads block.
            return await Task.Run(() => ReadChunk(chunk, offset), _disposing.Token).ConfigureAwait(false);
        }
        finally
        {
            _gate?.Release();
        }
    }

    /// <summary>
    /// Fills <paramref name="chunk"/> from <paramref name="offset"/>, each run of pages the cache holds from the cache,
    /// each run it does not directly; returns the bytes read (fewer only at the file's end).
    /// </summary>
    private unsafe int ReadChunk(NativeChunk chunk, long offset)
    {
        var pages = ChunkSize / PageSize;
        var resident = stackalloc byte[pages];
        if (!Residency(offset, resident, pages))
        {
            new Span<byte>(resident, pages).Clear();
        }

        var filled = 0;
        var page = 0;
        while (page < pages)
        {
            var cached = (resident[page] & 1) != 0;
            var end = page + 1;
            while (end < pages && ((resident[end] & 1) != 0) == cached)
            {
                end++;
            }

            var run = chunk.GetSpan()[(page * PageSize)..(end * PageSize)];
            var read = RandomAccess.Read(cached ? _cached : _handle, run, offset + (page * PageSize));
            Interlocked.Add(ref cached ? ref _bytesFromCache : ref _bytesDirect, read);
            filled += read;
            if (read < run.Length)
            {
                break; // the file's end (direct reads stop there; the cache's pages past it are stale)
            }

            page = end;
        }

        return filled;
    }

    /// <summary>Which pages of the chunk at <paramref name="offset"/> the page cache holds (bit 0 of each byte); false when the kernel cannot tell: read it all directly.</summary>
    private unsafe bool Residency(long offset, byte* resident, int pages) =>
        PageCacheResidency.TryGet(_cached, offset, ChunkSize, new Span<byte>(resident, pages));

    private const int ReadOnly = 0;
    private const int CloseOnExec = 0x80000;

    /// <summary>O_DIRECT's value differs by architecture.</summary>
    private static int? DirectFlag() => RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 or Architecture.X86 => 0x4000,
        Architecture.Arm64 or Architecture.Arm => 0x10000,
        _ => null,
    };

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Open(string path, int flags);

    /// <summary>Memory aligned for O_DIRECT, outside the GC heap.</summary>
    private sealed unsafe class NativeChunk(int size, int alignment) : MemoryManager<byte>
    {
        private void* _pointer = NativeMemory.AlignedAlloc((nuint)size, (nuint)alignment);

        public byte* Pointer => (byte*)_pointer;

        public override Span<byte> GetSpan() => new(_pointer, size);

        public override MemoryHandle Pin(int elementIndex = 0) => new((byte*)_pointer + elementIndex);

        public override void Unpin()
        {
        }

        protected override void Dispose(bool disposing)
        {
            if (_pointer is not null)
            {
                NativeMemory.AlignedFree(_pointer);
                _pointer = null;
            }
        }
    }
}
