using System.Runtime.InteropServices;
using PgArchive.Support;

namespace PgArchive.IO;

/// <summary>backup-push's reader of large files: cached pages from the cache, the rest with O_DIRECT, and always exactly the file's bytes.</summary>
public sealed partial class DirectReadStreamTests : IDisposable
{
    private const int Chunk = DirectReadStream.ChunkSize;
    private readonly string _root = Directory.CreateTempSubdirectory("pgarchive-direct-").FullName;

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string Write(byte[] content)
    {
        var path = Path.Combine(_root, "file");
        File.WriteAllBytes(path, content);
        return path;
    }

    private static void Evict(string path) => PageCache.Evict(path);

    private static async Task<byte[]> ReadAllAsync(Stream stream, int readSize)
    {
        var result = new MemoryStream();
        var buffer = new byte[readSize];
        int read;
        while ((read = await stream.ReadAsync(buffer, Token)) > 0)
        {
            result.Write(buffer, 0, read);
        }

        return result.ToArray();
    }

    [Theory]
    [InlineData(Chunk, 65536)]
    [InlineData(Chunk + 1, 81920)]
    [InlineData((3 * Chunk) + 12_345, 1000)]
    [InlineData((2 * Chunk) + 8192, 3 * Chunk)]
    public async Task A_file_not_in_the_cache_is_read_directly_and_exactly(int length, int readSize)
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "O_DIRECT is Linux's");
        var content = Codecs.Data(length, seed: length);
        var path = Write(content);
        Evict(path);

        using var stream = DirectReadStream.TryOpen(path);

        Assert.NotNull(stream);
        Assert.Equal(length, stream.Length);
        Assert.Equal(content, await ReadAllAsync(stream, readSize));
        Assert.Equal(length, stream.BytesDirect);
    }

    [Fact]
    public async Task Cached_pages_come_from_the_cache_and_the_rest_from_the_disk()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "O_DIRECT is Linux's");
        var content = Codecs.Data((4 * Chunk) + 100, seed: 3);
        var path = Write(content);
        Evict(path);
        // Bring the first 1.5 MiB back into the cache, and no more (no readahead).
        using (var file = File.OpenHandle(path))
        {
            Assert.Equal(0, Advise((int)file.DangerousGetHandle(), 0, 0, 1 /* POSIX_FADV_RANDOM */));
            RandomAccess.Read(file, new byte[Chunk + (Chunk / 2)], 0);
        }

        using var stream = DirectReadStream.TryOpen(path)!;

        Assert.Equal(content, await ReadAllAsync(stream, 65536));
        Assert.Equal(Chunk + (Chunk / 2), stream.BytesFromCache);
        Assert.Equal(content.Length - stream.BytesFromCache, stream.BytesDirect);
    }

    [Fact]
    public async Task A_file_truncated_while_it_is_read_ends_where_it_was_cut()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "O_DIRECT is Linux's");
        var content = Codecs.Data(6 * Chunk, seed: 5);
        var path = Write(content);
        Evict(path);
        using var stream = DirectReadStream.TryOpen(path)!;
        var first = new byte[100];
        await stream.ReadExactlyAsync(first, Token);

        using (var file = new FileStream(path, FileMode.Open, FileAccess.Write))
        {
            file.SetLength(3 * Chunk);
        }

        var rest = await ReadAllAsync(stream, 65536);
        Assert.Equal(content[..100], first);
        Assert.InRange(100 + rest.Length, 3 * Chunk, 4 * Chunk); // what was read ahead before the cut may come through
        Assert.Equal(content[100..(100 + rest.Length)], rest);
    }

    [Fact]
    public async Task Every_disk_read_waits_for_a_slot_of_the_gate()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "O_DIRECT is Linux's");
        var content = Codecs.Data(3 * Chunk, seed: 9);
        var path = Write(content);
        Evict(path);
        using var gate = new SemaphoreSlim(0, 1);
        using var stream = DirectReadStream.TryOpen(path, gate)!;

        var reading = ReadAllAsync(stream, 65536);
        await Task.Delay(200, Token);
        Assert.False(reading.IsCompleted);
        Assert.Equal(0, stream.BytesDirect + stream.BytesFromCache);

        gate.Release();
        Assert.Equal(content, await reading);
    }

    [Fact]
    public void A_file_mostly_in_the_cache_is_left_to_the_cache()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "O_DIRECT is Linux's");
        var path = Write(Codecs.Data(4 * Chunk, seed: 4));
        using (var file = File.OpenHandle(path))
        {
            RandomAccess.Read(file, new byte[4 * Chunk], 0);
        }

        Assert.Null(DirectReadStream.TryOpen(path));
    }

    [Fact]
    public void A_missing_file_is_not_found()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "O_DIRECT is Linux's");
        Assert.Throws<FileNotFoundException>(() => DirectReadStream.TryOpen(Path.Combine(_root, "missing")));
    }

    [LibraryImport("libc", EntryPoint = "posix_fadvise")]
    private static partial int Advise(int fd, long offset, long length, int advice);
}
