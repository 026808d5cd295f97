using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using PgArchive.IO;
using PgArchive.Storage.Conformance;

namespace PgArchive.Storage;

/// <summary>The store contract through <see cref="RateLimitedObjectStore"/> (at a rate no test notices), over the in-memory store.</summary>
public sealed class RateLimitedInMemoryObjectStoreTests : ObjectCopierConformanceTests
{
    protected override Task<IObjectStore> CreateStoreAsync() =>
        Task.FromResult<IObjectStore>(new RateLimitedObjectStore(new InMemoryObjectStore(), new ByteRateLimiter(1L << 40)));
}

/// <summary>What the network budget counts, and where it sits among the store's layers.</summary>
public sealed class RateLimitedObjectStoreTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Puts_and_reads_draw_on_the_budget_listings_and_deletes_do_not()
    {
        var clock = new FakeTimeProvider();
        var limiter = new ByteRateLimiter(16L * (64 << 10), clock);
        var store = new RateLimitedObjectStore(new InMemoryObjectStore(), limiter);
        Assert.Equal(64 << 10, limiter.Available);

        await store.PutAsync("a", new MemoryStream(new byte[40 << 10]), cancellationToken: Token);
        Assert.True(limiter.Available <= 24 << 10, $"a put of 40 KiB took its bytes from the budget ({limiter.Available} left)");

        clock.Advance(TimeSpan.FromSeconds(1));
        var before = limiter.Available;
        await foreach (var _ in store.ListAsync("", Token))
        {
        }

        await store.GetInfoAsync("a", Token);
        Assert.Equal(before, limiter.Available);

        var read = await store.OpenReadAsync("a", cancellationToken: Token);
        await using (read)
        {
            await read.CopyToAsync(Stream.Null, Token);
        }

        Assert.True(limiter.Available <= before - (40 << 10), "a read takes its bytes from the budget");
    }

    [Fact]
    public void The_retry_layer_still_sees_a_store_that_retries_itself_under_the_limit()
    {
        var limiter = new ByteRateLimiter(1 << 20);
        Assert.False(StoreRetry.Applies(new RateLimitedObjectStore(new SelfRetryingStore(), limiter)));
        Assert.True(StoreRetry.Applies(new RateLimitedObjectStore(new InMemoryObjectStore(), limiter)));
    }

    [Theory]
    [InlineData(null, false)]
    [InlineData(1_000_000L, true)]
    public void The_network_limit_sits_under_the_retry_layer_when_set(long? rate, bool limited)
    {
        var services = new ServiceCollection();
        services.AddPgArchive(o => o.NetworkRateLimit = rate).UseInMemory();
        using var provider = services.BuildServiceProvider();
        var retrying = provider.GetRequiredService<RetryingObjectStore>();
        Assert.Equal(limited, retrying.Inner is RateLimitedObjectStore);
        Assert.Same(provider.GetRequiredService<InMemoryObjectStore>(), retrying.Inner is RateLimitedObjectStore r ? r.Inner : retrying.Inner);
    }

    private sealed class SelfRetryingStore : IObjectStore, ISelfRetryingObjectStore
    {
        private readonly InMemoryObjectStore _inner = new();

        public Task PutAsync(string key, Stream content, PutMode mode = PutMode.Overwrite, CancellationToken cancellationToken = default) => _inner.PutAsync(key, content, mode, cancellationToken);

        public Task<Stream> OpenReadAsync(string key, ByteRange? range = null, CancellationToken cancellationToken = default) => _inner.OpenReadAsync(key, range, cancellationToken);

        public Task<ObjectInfo?> GetInfoAsync(string key, CancellationToken cancellationToken = default) => _inner.GetInfoAsync(key, cancellationToken);

        public IAsyncEnumerable<ObjectInfo> ListAsync(string prefix, CancellationToken cancellationToken = default) => _inner.ListAsync(prefix, cancellationToken);

        public Task DeleteAsync(IEnumerable<string> keys, CancellationToken cancellationToken = default) => _inner.DeleteAsync(keys, cancellationToken);
    }
}
