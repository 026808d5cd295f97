using PgArchive.Storage.Conformance;

namespace PgArchive.Storage;

public sealed class LocalFileSystemObjectStoreTests : ObjectCopierConformanceTests
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "pgarchive-fs-" + Guid.NewGuid().ToString("N"));
    private readonly string _outside = Path.Combine(Path.GetTempPath(), "pgarchive-victim-" + Guid.NewGuid().ToString("N"));

    protected override Task<IObjectStore> CreateStoreAsync() => Task.FromResult<IObjectStore>(new LocalFileSystemObjectStore(_root));

    protected override Task<IObjectStore?> CreateIndependentClientAsync() => Task.FromResult<IObjectStore?>(new LocalFileSystemObjectStore(_root));

    protected override async Task CleanUpAsync(IObjectStore store)
    {
        await base.CleanUpAsync(store);
        foreach (var directory in new[] { _root, _outside })
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
    }

    /// <summary>A directory outside the store holding <c>secret</c> and <c>sub/secret</c>, and links to it planted under the store's root.</summary>
    private async Task PlantLinksAsync()
    {
        Directory.CreateDirectory(Path.Combine(_outside, "sub"));
        await File.WriteAllTextAsync(Path.Combine(_outside, "secret"), "outside", Token);
        await File.WriteAllTextAsync(Path.Combine(_outside, "sub", "secret"), "outside", Token);
        await Store.PutAsync("basebackups_005/real/object", new MemoryStream([1]), cancellationToken: Token);
        await Store.PutAsync("wal_005/000000010000000000000001.lz4", new MemoryStream([2]), cancellationToken: Token);
        Directory.CreateSymbolicLink(Path.Combine(_root, "basebackups_005", "base_000000010000000000000001"), _outside);
        Directory.CreateSymbolicLink(Path.Combine(_root, "basebackups_005", "real", "deeper"), _outside);
        File.CreateSymbolicLink(Path.Combine(_root, "wal_005", "000000010000000000000002.lz4"), Path.Combine(_outside, "secret"));
        File.CreateSymbolicLink(Path.Combine(_root, "dangling"), Path.Combine(_outside, "nothing-here"));
    }

    [Fact]
    public async Task List_skips_symbolic_links_at_any_depth()
    {
        await PlantLinksAsync();

        var all = await Store.ListAsync("", Token).Select(i => i.Key).ToListAsync(Token);
        var underLink = await Store.ListAsync("basebackups_005/base_000000010000000000000001/", Token).Select(i => i.Key).ToListAsync(Token);
        var deep = await Store.ListAsync("basebackups_005/real/deeper/", Token).Select(i => i.Key).ToListAsync(Token);

        Assert.Equal(["basebackups_005/real/object", "wal_005/000000010000000000000001.lz4"], all);
        Assert.Empty(underLink);
        Assert.Empty(deep);
    }

    [Theory]
    [InlineData("basebackups_005/base_000000010000000000000001/secret")]
    [InlineData("basebackups_005/base_000000010000000000000001/sub/secret")]
    [InlineData("basebackups_005/real/deeper/secret")]
    [InlineData("wal_005/000000010000000000000002.lz4")]
    public async Task Keys_through_a_symbolic_link_are_refused_and_nothing_outside_is_touched(string key)
    {
        await PlantLinksAsync();

        var read = await Assert.ThrowsAsync<ObjectStoreException>(() => Store.OpenReadAsync(key, cancellationToken: Token));
        var info = await Assert.ThrowsAsync<ObjectStoreException>(() => Store.GetInfoAsync(key, Token));
        var delete = await Assert.ThrowsAsync<ObjectStoreException>(() => Store.DeleteAsync([key], Token));
        var put = await Assert.ThrowsAsync<ObjectStoreException>(() => Store.PutAsync(key, new MemoryStream([3]), cancellationToken: Token));
        var copy = await Assert.ThrowsAsync<ObjectStoreException>(() => ((IObjectCopier)Store).CopyAsync("basebackups_005/real/object", key, Token));

        foreach (var refused in new[] { read, info, delete, put, copy })
        {
            Assert.Contains("symbolic link", refused.Message, StringComparison.Ordinal);
            Assert.Equal(key, refused.Key);
        }

        Assert.Equal("outside", await File.ReadAllTextAsync(Path.Combine(_outside, "secret"), Token));
        Assert.Equal("outside", await File.ReadAllTextAsync(Path.Combine(_outside, "sub", "secret"), Token));
        Assert.Equal(["secret", "sub"], Directory.EnumerateFileSystemEntries(_outside).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal(["secret"], Directory.EnumerateFileSystemEntries(Path.Combine(_outside, "sub")).Select(Path.GetFileName));
    }

    [Fact]
    public async Task Root_that_is_a_symbolic_link_is_followed()
    {
        Directory.CreateDirectory(_outside);
        var link = _root + "-link";
        Directory.CreateSymbolicLink(link, _outside);
        try
        {
            var store = new LocalFileSystemObjectStore(link);
            await store.PutAsync("wal_005/x", new MemoryStream([1, 2, 3]), cancellationToken: Token);

            Assert.Equal(["wal_005/x"], await store.ListAsync("", Token).Select(i => i.Key).ToListAsync(Token));
            Assert.Equal(3, (await store.GetInfoAsync("wal_005/x", Token))!.Size);
            await using (var read = await store.OpenReadAsync("wal_005/x", cancellationToken: Token))
            {
                Assert.Equal(1, read.ReadByte());
            }

            await store.DeleteAsync(["wal_005/x"], Token);
            Assert.False(File.Exists(Path.Combine(_outside, "wal_005", "x")));
        }
        finally
        {
            File.Delete(link);
        }
    }

    [Fact]
    public async Task Put_leaves_no_temporary_file_behind()
    {
        await Store.PutAsync("wal_005/x", new MemoryStream([1, 2]), cancellationToken: Token);
        Assert.Equal(["x"], Directory.GetFiles(Path.Combine(_root, "wal_005")).Select(Path.GetFileName));
    }

    [Fact]
    public async Task Failed_put_leaves_no_temporary_file_behind()
    {
        await Assert.ThrowsAnyAsync<Exception>(() =>
            Store.PutAsync("wal_005/x", new FailingStream(new MemoryStream(new byte[10_000]), 5_000), cancellationToken: Token));
        Assert.Empty(Directory.GetFiles(Path.Combine(_root, "wal_005")));
    }

    [Fact]
    public async Task Root_that_is_a_file_is_reported_clearly()
    {
        var file = Path.Combine(Path.GetTempPath(), "pgarchive-file-" + Guid.NewGuid().ToString("N"));
        await File.WriteAllTextAsync(file, "not a directory", Token);
        try
        {
            var store = new LocalFileSystemObjectStore(file);
            var ex = await Assert.ThrowsAsync<ObjectStoreException>(() => store.PutAsync("wal_005/x", new MemoryStream([1]), cancellationToken: Token));
            Assert.Contains("is a file, not a directory", ex.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
