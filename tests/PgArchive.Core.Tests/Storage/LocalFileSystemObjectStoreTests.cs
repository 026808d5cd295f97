using PgArchive.Storage.Conformance;

namespace PgArchive.Storage;

public sealed class LocalFileSystemObjectStoreTests : ObjectStoreConformanceTests
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "pgarchive-fs-" + Guid.NewGuid().ToString("N"));

    protected override Task<IObjectStore> CreateStoreAsync() => Task.FromResult<IObjectStore>(new LocalFileSystemObjectStore(_root));

    protected override Task<IObjectStore?> CreateIndependentClientAsync() => Task.FromResult<IObjectStore?>(new LocalFileSystemObjectStore(_root));

    protected override async Task CleanUpAsync(IObjectStore store)
    {
        await base.CleanUpAsync(store);
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
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
