using System.Security.Cryptography;
using System.Text;
using PgArchive.Storage;
using Xunit;

namespace PgArchive.Storage.Conformance;

/// <summary>
/// The contract of <see cref="IObjectStore"/>. Every store's tests inherit this class and supply a store
/// scoped to a fresh, empty prefix per test (<see cref="CreateStoreAsync"/>); xUnit makes a new instance
/// per test, so tests never see each other's objects. Tests are virtual: a store that truly differs
/// overrides one with a written reason.
/// </summary>
public abstract class ObjectStoreConformanceTests : IAsyncLifetime
{
    private IObjectStore? _store;

    /// <summary>The store under test, empty at the start of each test.</summary>
    protected IObjectStore Store => _store ?? throw new InvalidOperationException("InitializeAsync has not run.");

    /// <summary>Keys for the paging test: more than one page of the backend's listing (1,000 on S3).</summary>
    protected virtual int PagingKeyCount => 1_100;

    /// <summary>The size of the large streamed object test.</summary>
    protected virtual long LargeObjectSize => 48L << 20;

    /// <summary>The test's cancellation token.</summary>
    protected static CancellationToken Token => TestContext.Current.CancellationToken;

    /// <summary>A store over a fresh, empty namespace.</summary>
    protected abstract Task<IObjectStore> CreateStoreAsync();

    /// <summary>
    /// A second client over the namespace of <see cref="Store"/> that shares nothing with it in this process (no
    /// connection, no lock), as another process's store would; null (the default) when the store's tests do not make one.
    /// </summary>
    protected virtual Task<IObjectStore?> CreateIndependentClientAsync() => Task.FromResult<IObjectStore?>(null);

    /// <summary>Removes what the test stored; the default deletes every key.</summary>
    protected virtual async Task CleanUpAsync(IObjectStore store)
    {
        var keys = new List<string>();
        await foreach (var info in store.ListAsync("", CancellationToken.None))
        {
            keys.Add(info.Key);
        }

        await store.DeleteAsync(keys, CancellationToken.None);
    }

    /// <inheritdoc />
    public async ValueTask InitializeAsync() => _store = await CreateStoreAsync();

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_store is not null)
        {
            await CleanUpAsync(_store);
            (_store as IDisposable)?.Dispose();
        }

        GC.SuppressFinalize(this);
    }

    /// <summary>Bytes that differ per call.</summary>
    protected static byte[] RandomBytes(int length) => RandomNumberGenerator.GetBytes(length);

    /// <summary>Reads an object whole.</summary>
    protected async Task<byte[]> ReadAllAsync(string key, ByteRange? range = null)
    {
        await using var stream = await Store.OpenReadAsync(key, range, Token);
        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer, Token);
        return buffer.ToArray();
    }

    [Fact]
    public virtual async Task Put_then_read_returns_the_same_bytes()
    {
        var data = RandomBytes(300_000);
        await Store.PutAsync("a/b/object.bin", new MemoryStream(data), cancellationToken: Token);
        Assert.Equal(data, await ReadAllAsync("a/b/object.bin"));
    }

    [Fact]
    public virtual async Task Put_stores_an_empty_object()
    {
        await Store.PutAsync("empty", new MemoryStream(), cancellationToken: Token);
        Assert.Empty(await ReadAllAsync("empty"));
        Assert.Equal(0, (await Store.GetInfoAsync("empty", Token))!.Size);
    }

    [Fact]
    public virtual async Task Put_reads_a_stream_of_unknown_length()
    {
        var data = RandomBytes(5_000_000);
        await Store.PutAsync("unknown-length", new UnseekableStream(new MemoryStream(data)), cancellationToken: Token);
        Assert.Equal(data, await ReadAllAsync("unknown-length"));
    }

    [Fact]
    public virtual async Task Put_overwrites_by_default()
    {
        await Store.PutAsync("k", new MemoryStream("one"u8.ToArray()), cancellationToken: Token);
        await Store.PutAsync("k", new MemoryStream("two"u8.ToArray()), cancellationToken: Token);
        Assert.Equal("two"u8.ToArray(), await ReadAllAsync("k"));
    }

    [Fact]
    public virtual async Task Put_create_new_fails_with_already_exists_and_keeps_the_original()
    {
        await Store.PutAsync("k", new MemoryStream("original"u8.ToArray()), PutMode.CreateNew, Token);
        var ex = await Assert.ThrowsAsync<ObjectStoreException>(
            () => Store.PutAsync("k", new MemoryStream("other"u8.ToArray()), PutMode.CreateNew, Token));
        Assert.Equal(ObjectStoreErrorKind.AlreadyExists, ex.Kind);
        Assert.Equal("k", ex.Key);
        Assert.Equal("original"u8.ToArray(), await ReadAllAsync("k"));
    }

    [Fact]
    public virtual async Task Put_create_new_lets_exactly_one_of_concurrent_writers_win()
    {
        var results = await RaceToCreateAsync([Store]);
        Assert.Single(results, won => won);
        Assert.StartsWith("writer ", Encoding.ASCII.GetString(await ReadAllAsync("race")));
    }

    /// <summary>
    /// As <see cref="Put_create_new_lets_exactly_one_of_concurrent_writers_win"/>, through two clients that share no
    /// lock: the server alone must let one writer win (two backup-push claiming one backup name run in two processes).
    /// </summary>
    [Fact]
    public virtual async Task Put_create_new_lets_exactly_one_writer_win_across_independent_clients()
    {
        var other = await CreateIndependentClientAsync();
        if (other is null)
        {
            Assert.Skip($"The tests of {Store.GetType().Name} make no independent second client (CreateIndependentClientAsync).");
        }

        try
        {
            Assert.Single(await RaceToCreateAsync([Store, other]), won => won);
        }
        finally
        {
            (other as IDisposable)?.Dispose();
        }
    }

    /// <summary>8 writers at once, taking turns over <paramref name="clients"/>, each putting key <c>race</c> create-only; whether each won.</summary>
    private static Task<bool[]> RaceToCreateAsync(IReadOnlyList<IObjectStore> clients) =>
        Task.WhenAll(Enumerable.Range(0, 8).Select(i => Task.Run(async () =>
        {
            try
            {
                await clients[i % clients.Count].PutAsync("race", new MemoryStream(Encoding.ASCII.GetBytes($"writer {i}")), PutMode.CreateNew, Token);
                return true;
            }
            catch (ObjectStoreException ex) when (ex.Kind == ObjectStoreErrorKind.AlreadyExists)
            {
                return false;
            }
        }, Token)));

    [Fact]
    public virtual async Task Put_whose_content_fails_stores_nothing()
    {
        var failing = new FailingStream(new MemoryStream(RandomBytes(3_000_000)), failAfterBytes: 1_000_000);
        await Assert.ThrowsAnyAsync<Exception>(() => Store.PutAsync("partial", failing, cancellationToken: Token));
        Assert.Null(await Store.GetInfoAsync("partial", Token));
        await foreach (var info in Store.ListAsync("", Token))
        {
            Assert.Fail($"Nothing should be listed after a failed put, found '{info.Key}'.");
        }
    }

    [Fact]
    public virtual async Task Read_of_a_missing_key_throws_not_found()
    {
        var ex = await Assert.ThrowsAsync<ObjectStoreException>(() => Store.OpenReadAsync("missing/key", null, Token));
        Assert.Equal(ObjectStoreErrorKind.NotFound, ex.Kind);
        Assert.Contains("missing/key", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public virtual async Task Read_with_a_range_returns_that_slice()
    {
        var data = RandomBytes(100_000);
        await Store.PutAsync("ranged", new MemoryStream(data), cancellationToken: Token);
        Assert.Equal(data[1000..1500], await ReadAllAsync("ranged", new ByteRange(1000, 500)));
        Assert.Equal(data[99_000..], await ReadAllAsync("ranged", new ByteRange(99_000)));
    }

    [Fact]
    public virtual async Task Get_info_returns_size_and_modification_time_or_null()
    {
        var before = DateTimeOffset.UtcNow.AddMinutes(-5);
        await Store.PutAsync("info", new MemoryStream(RandomBytes(1234)), cancellationToken: Token);
        var info = await Store.GetInfoAsync("info", Token);
        Assert.NotNull(info);
        Assert.Equal("info", info.Key);
        Assert.Equal(1234, info.Size);
        Assert.InRange(info.LastModified, before, DateTimeOffset.UtcNow.AddMinutes(5));
        Assert.Null(await Store.GetInfoAsync("absent", Token));
    }

    [Fact]
    public virtual async Task List_returns_keys_under_the_prefix_in_ordinal_order()
    {
        foreach (var key in new[] { "wal_005/b", "wal_005/a", "wal_005/sub/c", "wal_0050", "basebackups_005/x" })
        {
            await Store.PutAsync(key, new MemoryStream([1, 2, 3]), cancellationToken: Token);
        }

        var listed = new List<ObjectInfo>();
        await foreach (var info in Store.ListAsync("wal_005/", Token))
        {
            listed.Add(info);
        }

        Assert.Equal(["wal_005/a", "wal_005/b", "wal_005/sub/c"], listed.Select(i => i.Key));
        Assert.All(listed, i => Assert.Equal(3, i.Size));
    }

    [Fact]
    public virtual async Task List_by_a_prefix_ending_inside_a_name_returns_exactly_the_keys_starting_with_it()
    {
        // wal-fetch finds a segment whatever its compression extension by listing its name as a prefix.
        foreach (var key in new[]
        {
            "wal_005/000000010000000000000003.lz4", "wal_005/000000010000000000000003.partial", "wal_005/000000010000000000000004",
            "wal_005/0000000100000000000000030/x", "wal_005/00000001000000000000000", "basebackups_005/base_1/tar_partitions/part_001.tar",
            "basebackups_005/base_2/x",
        })
        {
            await Store.PutAsync(key, new MemoryStream([1]), cancellationToken: Token);
        }

        async Task<List<string>> ListAsync(string prefix)
        {
            var listed = new List<string>();
            await foreach (var info in Store.ListAsync(prefix, Token))
            {
                listed.Add(info.Key);
            }

            return listed;
        }

        Assert.Equal(["wal_005/000000010000000000000003.lz4", "wal_005/000000010000000000000003.partial", "wal_005/0000000100000000000000030/x"],
            await ListAsync("wal_005/000000010000000000000003"));
        Assert.Equal(["basebackups_005/base_1/tar_partitions/part_001.tar"], await ListAsync("basebackups_005/base_1"));
        Assert.Empty(await ListAsync("wal_005/000000010000000000000005"));
    }

    [Fact]
    public virtual async Task List_pages_through_more_keys_than_one_page()
    {
        var keys = Enumerable.Range(0, PagingKeyCount).Select(i => $"many/{i:D5}").ToList();
        await Parallel.ForEachAsync(keys, new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = Token },
            async (key, ct) => await Store.PutAsync(key, new MemoryStream([42]), cancellationToken: ct));
        var listed = new List<string>();
        await foreach (var info in Store.ListAsync("many/", Token))
        {
            listed.Add(info.Key);
        }

        Assert.Equal(keys, listed);
    }

    [Fact]
    public virtual async Task Delete_removes_keys_and_ignores_missing_ones()
    {
        await Store.PutAsync("d/1", new MemoryStream([1]), cancellationToken: Token);
        await Store.PutAsync("d/2", new MemoryStream([2]), cancellationToken: Token);
        await Store.DeleteAsync(["d/1", "d/2", "d/never-existed"], Token);
        Assert.Null(await Store.GetInfoAsync("d/1", Token));
        Assert.Null(await Store.GetInfoAsync("d/2", Token));
        await Store.DeleteAsync(["d/1"], Token);
    }

    [Fact]
    public virtual async Task Delete_ignores_keys_under_prefixes_that_never_held_anything()
    {
        await Store.PutAsync("d/1", new MemoryStream([1]), cancellationToken: Token);
        await Store.DeleteAsync(["d/1", "never/held/anything", "d/never/either"], Token);
        Assert.Null(await Store.GetInfoAsync("d/1", Token));
    }

    [Fact]
    public virtual async Task Large_object_streams_through_put_and_read()
    {
        var size = LargeObjectSize;
        await Store.PutAsync("large", new PatternStream(size), cancellationToken: Token);
        Assert.Equal(size, (await Store.GetInfoAsync("large", Token))!.Size);
        await using var stream = await Store.OpenReadAsync("large", null, Token);
        Assert.True(await PatternStream.MatchesAsync(stream, size, Token), "The large object read back differs from what was written.");
    }

    [Fact]
    public virtual async Task Operations_honour_a_cancelled_token()
    {
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => Store.PutAsync("cancelled", new MemoryStream(RandomBytes(100)), cancellationToken: cancelled.Token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Store.GetInfoAsync("cancelled", cancelled.Token));
        Assert.Null(await Store.GetInfoAsync("cancelled", Token));
    }

    [Theory]
    [InlineData("/absolute")]
    [InlineData("a/../b")]
    [InlineData("a//b")]
    [InlineData("trailing/")]
    public virtual async Task Invalid_keys_are_refused(string key)
    {
        await Assert.ThrowsAnyAsync<ArgumentException>(() => Store.PutAsync(key, new MemoryStream([1]), cancellationToken: Token));
    }
}
