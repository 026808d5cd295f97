using Microsoft.Extensions.Options;
using PgArchive.Support;

namespace PgArchive.Storage;

/// <summary>
/// IObjectCopier on the stores that have it (local filesystem, in memory) and through the decorators AddPgArchive
/// puts in front of them (retries, fault injection); and fault injection's "fail permanently after N calls".
/// </summary>
public sealed class ObjectCopierTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("pgarchive-copy-").FullName;

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    public static TheoryData<string> Kinds => ["filesystem", "memory", "retrying filesystem", "faulty memory"];

    private IObjectStore Create(string kind) => kind switch
    {
        "filesystem" => new LocalFileSystemObjectStore(_root),
        "memory" => new InMemoryObjectStore(),
        "retrying filesystem" => new RetryingObjectStore(new LocalFileSystemObjectStore(_root), Options.Create(new PgArchiveOptions { StoreRetryDelay = TimeSpan.FromMilliseconds(1) })),
        "faulty memory" => new RetryingObjectStore(
            new FaultInjectingObjectStore(new InMemoryObjectStore(), new FaultInjectionOptions { FailureRate = 0.5, Seed = 3, ShortReads = false }),
            Options.Create(new PgArchiveOptions { StoreRetries = 20, StoreRetryDelay = TimeSpan.FromMilliseconds(1) })),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    private static async Task<byte[]> ReadAsync(IObjectStore store, string key)
    {
        var stream = await store.OpenReadAsync(key, null, Token);
        await using (stream)
        {
            using var buffer = new MemoryStream();
            await stream.CopyToAsync(buffer, Token);
            return buffer.ToArray();
        }
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Copy_puts_the_same_bytes_under_the_new_key_and_replaces_what_was_there(string kind)
    {
        var store = Create(kind);
        var copier = Assert.IsAssignableFrom<IObjectCopier>(store);
        var bytes = new byte[300_000];
        new Random(5).NextBytes(bytes);
        await store.PutAsync("basebackups_005/a/tar_partitions/part_001.tar", new MemoryStream(bytes), cancellationToken: Token);
        await store.PutAsync("basebackups_005/b/tar_partitions/part_001.tar", new MemoryStream([1, 2, 3]), cancellationToken: Token);

        Assert.True(copier.CanCopy);
        await copier.CopyAsync("basebackups_005/a/tar_partitions/part_001.tar", "basebackups_005/b/tar_partitions/part_001.tar", Token);

        Assert.Equal(bytes, await ReadAsync(store, "basebackups_005/b/tar_partitions/part_001.tar"));
        Assert.Equal(bytes, await ReadAsync(store, "basebackups_005/a/tar_partitions/part_001.tar"));
        var listed = new List<string>();
        await foreach (var info in store.ListAsync("basebackups_005/", Token))
        {
            listed.Add(info.Key);
        }

        Assert.Equal(["basebackups_005/a/tar_partitions/part_001.tar", "basebackups_005/b/tar_partitions/part_001.tar"], listed);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Copy_of_a_missing_object_is_NotFound_and_stores_nothing(string kind)
    {
        var store = Create(kind);

        var ex = await Assert.ThrowsAsync<ObjectStoreException>(() => ((IObjectCopier)store).CopyAsync("wal_005/missing", "wal_005/copy", Token));

        Assert.Equal(ObjectStoreErrorKind.NotFound, ex.Kind);
        Assert.Null(await store.GetInfoAsync("wal_005/copy", Token));
    }

    [Fact]
    public void Decorators_over_a_store_that_cannot_copy_say_so()
    {
        var plain = new FaultInjectingObjectStore(new RetryingObjectStore(new InMemoryObjectStore(), Options.Create(new PgArchiveOptions())), new FaultInjectionOptions());
        Assert.True(plain.CanCopy); // the retrying store over memory can

        var cannot = new RetryingObjectStore(new ReadWriteOnlyStore(new InMemoryObjectStore()), Options.Create(new PgArchiveOptions()));
        Assert.False(cannot.CanCopy);
        Assert.False(new FaultInjectingObjectStore(new ReadWriteOnlyStore(new InMemoryObjectStore()), new FaultInjectionOptions()).CanCopy);
    }

    [Fact]
    public async Task Permanent_faults_after_N_let_the_first_N_calls_through()
    {
        var inner = new InMemoryObjectStore();
        var store = new FaultInjectingObjectStore(inner, FaultInjectionOptions.Parse("permanent:put:3"));
        for (var i = 0; i < 3; i++)
        {
            await store.PutAsync($"wal_005/{i}", new MemoryStream([1]), cancellationToken: Token);
        }

        await Assert.ThrowsAsync<ObjectStoreException>(() => store.PutAsync("wal_005/3", new MemoryStream([1]), cancellationToken: Token));
        await Assert.ThrowsAsync<ObjectStoreException>(() => store.PutAsync("wal_005/4", new MemoryStream([1]), cancellationToken: Token));
        Assert.Null(await store.GetInfoAsync("wal_005/4", Token)); // an info call is not a put: it passes
        Assert.Equal(["wal_005/0", "wal_005/1", "wal_005/2"], inner.Keys);
        Assert.Equal(2, store.InjectedFaults);
    }

    [Theory]
    [InlineData("permanent:put:x")]
    [InlineData("permanent:put:-1")]
    [InlineData("permanent:put:1:2")]
    public void Permanent_after_must_be_a_count(string text) =>
        Assert.Throws<PgArchiveConfigurationException>(() => FaultInjectionOptions.Parse(text));
}
