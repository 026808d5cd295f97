using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using PgArchive.Backups;
using PgArchive.Retention;
using PgArchive.Support;
using PgArchive.Wal;

namespace PgArchive.Storage;

/// <summary>
/// Two repositories behind one store: policy all fails a put while a store is down and completes on the retry once it
/// is back; first-alive moves on to the next store and fills the primary when it comes back; reads fall through;
/// listings merge; the status cache is shared through its file; catch-up gives each store what it missed.
/// </summary>
public sealed class FailoverObjectStoreTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("pgarchive-failover-").FullName;
    private readonly InMemoryObjectStore _primary = new();
    private readonly InMemoryObjectStore _second = new();
    private readonly FaultInjectionOptions _primaryFaults = Healthy();
    private readonly FaultInjectionOptions _secondFaults = Healthy();
    private readonly List<ServiceProvider> _providers = [];

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private string CacheFile => Path.Combine(_root, "status-cache");

    public void Dispose()
    {
        foreach (var provider in _providers)
        {
            provider.Dispose();
        }

        Directory.Delete(_root, recursive: true);
    }

    private static FaultInjectionOptions Healthy() => new() { FailureRate = 0, MaxLatency = TimeSpan.Zero };

    private static void Down(FaultInjectionOptions faults) => (faults.Permanent, faults.PermanentErrorKind) = (true, ObjectStoreErrorKind.Unavailable);

    private static void Up(FaultInjectionOptions faults) => faults.Permanent = false;

    private FailoverObjectStore Failover(FailoverWritePolicy policy, TimeSpan? cacheLifetime = null, bool check = true) =>
        new([new FailoverStore("default", new FaultInjectingObjectStore(_primary, _primaryFaults)), new FailoverStore("second", new FaultInjectingObjectStore(_second, _secondFaults))],
            new FailoverStoresOptions { Policy = policy, CacheFile = CacheFile, CacheLifetime = cacheLifetime ?? TimeSpan.FromMinutes(15), CheckSize = 1024, Check = check });

    private WalArchiver Archiver(IObjectStore store)
    {
        var services = new ServiceCollection();
        services.AddSingleton(store);
        services.AddPgArchive(o => (o.StoreRetries, o.StoreRetryDelay) = (2, TimeSpan.FromMilliseconds(1)));
        var provider = services.BuildServiceProvider();
        _providers.Add(provider);
        return provider.GetRequiredService<WalArchiver>();
    }

    private string WriteWal(string name, int seed)
    {
        var path = Path.Combine(_root, name);
        File.WriteAllBytes(path, WalSegments.Create(name, size => Codecs.Data(size, seed)));
        return path;
    }

    private static string Key(string segment) => $"wal_005/{segment}.lz4";

    [Fact]
    public async Task Policy_all_stores_every_segment_in_both_stores()
    {
        var archiver = Archiver(Failover(FailoverWritePolicy.All));

        await archiver.PushAsync(WriteWal("000000010000000000000001", 1), Token);

        Assert.Equal([Key("000000010000000000000001")], _primary.Keys);
        Assert.Equal(_primary.Keys, _second.Keys);
        Assert.Equal(_primary.GetBytes(Key("000000010000000000000001")), _second.GetBytes(Key("000000010000000000000001")));
    }

    [Fact]
    public async Task Policy_all_fails_wal_push_while_a_store_is_down_and_the_retry_succeeds_once_it_is_back()
    {
        var archiver = Archiver(Failover(FailoverWritePolicy.All));
        var wal = WriteWal("000000010000000000000002", 2);
        Down(_secondFaults);

        var failure = await Assert.ThrowsAsync<ObjectStoreException>(() => archiver.PushAsync(wal, Token));

        Assert.Contains("not in 'second'", failure.Message, StringComparison.Ordinal);
        Assert.Empty(_second.Keys);
        Up(_secondFaults);
        var retried = await archiver.PushAsync(wal, Token);
        Assert.True(retried.AlreadyArchived, "the primary held the identical segment: the retry compares it and succeeds");
        Assert.Equal(_primary.GetBytes(Key("000000010000000000000002")), _second.GetBytes(Key("000000010000000000000002")));
    }

    [Fact]
    public async Task Automatic_catch_up_copies_at_most_its_limit_per_put_says_so_and_goes_on_with_the_next_puts()
    {
        var logger = new LogRecorder();
        var failover = new FailoverObjectStore(
            [new FailoverStore("default", new FaultInjectingObjectStore(_primary, _primaryFaults)), new FailoverStore("second", new FaultInjectingObjectStore(_second, _secondFaults))],
            new FailoverStoresOptions { Policy = FailoverWritePolicy.FirstAlive, CacheFile = CacheFile, CacheLifetime = TimeSpan.Zero, CheckSize = 1024, AutoCatchUpLimit = 2 },
            null, logger);
        var archiver = Archiver(failover);
        await archiver.PushAsync(WriteWal("000000010000000000000001", 1), Token);
        Down(_primaryFaults);
        for (var i = 2; i <= 6; i++)
        {
            await archiver.PushAsync(WriteWal($"00000001000000000000000{i}", i), Token);
        }

        Up(_primaryFaults);
        await archiver.PushAsync(WriteWal("000000010000000000000007", 7), Token);

        Assert.Equal(4, _primary.Keys.Count);
        Assert.Contains(logger.Messages, m => m == "Caught up storage default in part: 2 of the 5 objects it lacks copied from second, as many as one put copies; the next puts copy more, 'pgarchive catch-up' copies the rest");
        await archiver.PushAsync(WriteWal("000000010000000000000008", 8), Token);
        await archiver.PushAsync(WriteWal("000000010000000000000009", 9), Token);
        Assert.Equal(Enumerable.Range(1, 9).Select(i => Key($"00000001000000000000000{i}")), _primary.Keys);
        Assert.Contains(logger.Messages, m => m == "Caught up storage default: 1 objects copied from second");
    }

    [Fact]
    public async Task Policy_all_fails_wal_push_while_the_primary_is_down_storing_nothing()
    {
        var archiver = Archiver(Failover(FailoverWritePolicy.All));
        Down(_primaryFaults);

        await Assert.ThrowsAsync<ObjectStoreException>(() => archiver.PushAsync(WriteWal("000000010000000000000003", 3), Token));

        Assert.Empty(_primary.Keys);
        Assert.Empty(_second.Keys);
    }

    [Fact]
    public async Task Policy_first_alive_writes_to_the_primary_only_while_it_is_alive()
    {
        var archiver = Archiver(Failover(FailoverWritePolicy.FirstAlive));

        await archiver.PushAsync(WriteWal("000000010000000000000001", 1), Token);

        Assert.Equal([Key("000000010000000000000001")], _primary.Keys);
        Assert.Empty(_second.Keys);
    }

    [Fact]
    public async Task Policy_first_alive_moves_on_to_the_next_store_when_the_primary_goes_down_and_fills_the_primary_when_it_comes_back()
    {
        var archiver = Archiver(Failover(FailoverWritePolicy.FirstAlive, cacheLifetime: TimeSpan.Zero));
        await archiver.PushAsync(WriteWal("000000010000000000000001", 1), Token);
        Down(_primaryFaults);

        await archiver.PushAsync(WriteWal("000000010000000000000002", 2), Token);
        await archiver.PushAsync(WriteWal("000000010000000000000003", 3), Token);

        Assert.Equal([Key("000000010000000000000001")], _primary.Keys);
        Assert.Equal([Key("000000010000000000000002"), Key("000000010000000000000003")], _second.Keys);
        var record = AuthenticatingObjectStore.SidecarPrefix + Key("000000010000000000000003");
        await _second.PutAsync(record, new MemoryStream([3]), cancellationToken: Token); // as archive authentication stores it
        Up(_primaryFaults);
        await archiver.PushAsync(WriteWal("000000010000000000000004", 4), Token);
        Assert.Equal(Enumerable.Range(1, 4).Select(i => Key($"00000001000000000000000{i}")).Append(record).Order(StringComparer.Ordinal), _primary.Keys);
        Assert.Equal(_second.GetBytes(Key("000000010000000000000003")), _primary.GetBytes(Key("000000010000000000000003")));
    }

    [Fact]
    public async Task Reads_fall_through_to_the_store_that_holds_the_object_when_the_primary_is_down_or_lacks_it()
    {
        var store = Failover(FailoverWritePolicy.All);
        await _second.PutAsync("only-second", new MemoryStream("second"u8.ToArray()), cancellationToken: Token);

        Assert.Equal("second", await ReadAsync(store, "only-second"));
        Assert.Equal(6, (await store.GetInfoAsync("only-second", Token))?.Size);
        await _primary.PutAsync("both", new MemoryStream("primary"u8.ToArray()), cancellationToken: Token);
        await _second.PutAsync("both", new MemoryStream("copy"u8.ToArray()), cancellationToken: Token);
        Assert.Equal("primary", await ReadAsync(store, "both"));
        Down(_primaryFaults);
        Assert.Equal("copy", await ReadAsync(store, "both"));
        var missing = await Assert.ThrowsAsync<ObjectStoreException>(() => store.OpenReadAsync("nowhere", null, Token));
        Assert.Equal(ObjectStoreErrorKind.Unavailable, missing.Kind); // the primary could not say it lacks it
        Up(_primaryFaults);
        Assert.Equal(ObjectStoreErrorKind.NotFound, (await Assert.ThrowsAsync<ObjectStoreException>(() => store.OpenReadAsync("nowhere", null, Token))).Kind);
    }

    [Fact]
    public async Task Listing_merges_the_stores_once_per_key_and_leaves_out_a_store_that_is_down()
    {
        var store = Failover(FailoverWritePolicy.All);
        await _primary.PutAsync("p/a", new MemoryStream([1]), cancellationToken: Token);
        await _primary.PutAsync("p/c", new MemoryStream([1]), cancellationToken: Token);
        await _second.PutAsync("p/b", new MemoryStream([1, 2]), cancellationToken: Token);
        await _second.PutAsync("p/c", new MemoryStream([1, 2, 3]), cancellationToken: Token);

        var listed = await store.ListAsync("p/", Token).ToListAsync(Token);

        Assert.Equal(["p/a", "p/b", "p/c"], listed.Select(o => o.Key));
        Assert.Equal(1, listed[2].Size); // the primary's
        Down(_primaryFaults);
        Assert.Equal(["p/b", "p/c"], await store.ListAsync("p/", Token).Select(o => o.Key).ToListAsync(Token));
        Down(_secondFaults);
        await Assert.ThrowsAsync<ObjectStoreException>(async () => await store.ListAsync("p/", Token).ToListAsync(Token));
    }

    [Fact]
    public async Task A_dead_status_is_shared_through_the_cache_file_in_walg_format_until_its_lifetime_ends()
    {
        Down(_primaryFaults);
        var first = Failover(FailoverWritePolicy.FirstAlive);
        Assert.False(await first.IsAliveAsync(first.Stores[0], Token));
        Up(_primaryFaults);

        var later = Failover(FailoverWritePolicy.FirstAlive);
        await later.PutAsync("k", new MemoryStream([7]), PutMode.CreateNew, Token);

        Assert.Equal(["k"], _second.Keys);
        Assert.DoesNotContain("k", _primary.Keys);
        Assert.True(later.HasMissedObjects(later.Stores[0]));
        using var cache = JsonDocument.Parse(await File.ReadAllBytesAsync(CacheFile, Token));
        var entry = cache.RootElement.EnumerateObject().Single(e => e.Name.StartsWith("default#", StringComparison.Ordinal)).Value;
        Assert.False(entry.GetProperty("previous_aliveness").GetBoolean());
        Assert.Equal(JsonValueKind.Number, entry.GetProperty("potential_aliveness").ValueKind);
        Assert.Equal(JsonValueKind.Number, entry.GetProperty("actual_aliveness").ValueKind);
        Assert.Equal(JsonValueKind.String, entry.GetProperty("updated").ValueKind);

        var afterLifetime = Failover(FailoverWritePolicy.FirstAlive, cacheLifetime: TimeSpan.Zero);
        await afterLifetime.PutAsync("k2", new MemoryStream([8]), PutMode.CreateNew, Token);
        Assert.Contains("k2", _primary.Keys);
    }

    [Fact]
    public async Task Operation_failures_turn_an_alive_store_dead_by_the_moving_average_and_the_next_store_takes_over()
    {
        var store = Failover(FailoverWritePolicy.FirstAlive);
        Assert.True(await store.IsAliveAsync(store.Stores[0], Token));
        await _primary.PutAsync("present", new MemoryStream([1]), cancellationToken: Token);
        for (var i = 0; i < 50; i++)
        {
            await (await store.OpenReadAsync("present", null, Token)).DisposeAsync(); // a history of successes
        }

        _primaryFaults.Operations = FaultOperations.Read;
        Down(_primaryFaults);

        // Reads fail over without a check; each failure lowers the primary's aliveness until it is dead.
        var reads = 0;
        while (await store.IsAliveAsync(store.Stores[0], Token))
        {
            await Assert.ThrowsAsync<ObjectStoreException>(() => store.OpenReadAsync("absent", null, Token));
            Assert.True(++reads < 100, "the primary never turned dead");
        }

        Assert.InRange(reads, 2, 99);
        await store.PutAsync("after", new MemoryStream([1]), cancellationToken: Token);
        Assert.Equal(["after"], _second.Keys);
    }

    [Fact]
    public async Task With_checks_off_every_store_counts_as_alive_and_a_failed_put_is_not_moved_on()
    {
        var store = Failover(FailoverWritePolicy.FirstAlive, check: false);
        Down(_primaryFaults);

        await Assert.ThrowsAsync<ObjectStoreException>(() => store.PutAsync("k", new MemoryStream([1]), cancellationToken: Token));

        Assert.True(await store.IsAliveAsync(store.Stores[0], Token));
        Assert.Empty(_second.Keys);
        Assert.False(File.Exists(CacheFile));
    }

    [Fact]
    public async Task Catch_up_gives_each_store_the_backups_and_wal_it_lacks_sentinels_included()
    {
        using var archive = new SyntheticArchive();
        var backup = archive.AddBackup(1, 2);
        archive.AddWal(1, 1, 6);
        var empty = new InMemoryObjectStore();
        await empty.PutAsync(Key("000000010000000000000009"), new MemoryStream([9]), cancellationToken: Token);
        var store = new FailoverObjectStore([new FailoverStore("default", empty), new FailoverStore("second", archive.Store)],
            new FailoverStoresOptions { CacheFile = CacheFile, CheckSize = 16 });

        var expected = archive.Store.Keys.Append(Key("000000010000000000000009")).Order(StringComparer.Ordinal).ToList();

        var results = await new FailoverCatchUp(store).RunAsync(concurrency: 2, Token);

        Assert.Equal(expected, empty.Keys);
        Assert.Equal(empty.Keys, archive.Store.Keys);
        Assert.All(empty.Keys, key => Assert.Equal(archive.Store.GetBytes(key), empty.GetBytes(key)));
        Assert.Contains(ArchiveLayout.SentinelKey(backup), empty.Keys);
        Assert.Equal([backup], results.Single(r => r.Storage == "default").Backups);
        Assert.Equal(1, results.Single(r => r.Storage == "second").Copied);
        var again = await new FailoverCatchUp(store).RunAsync(concurrency: 2, Token);
        Assert.All(again, r => Assert.Equal(0, r.Copied));
    }

    [Fact]
    public async Task Catch_up_completes_a_backup_spread_over_the_stores_with_each_sentinel_stored_after_its_parts()
    {
        using var archive = new SyntheticArchive();
        var backup = archive.AddBackup(1, 2);
        archive.AddWal(1, 1, 3);
        var other = new PutRecordingStore(new InMemoryObjectStore());
        // The primary came back mid-backup under first-alive: the partitions went to the second store, the rest and the sentinel to the primary.
        var moved = archive.Store.Keys.Where(k => k.Contains("tar_partitions/part_", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(moved);
        foreach (var key in moved)
        {
            await other.Inner.PutAsync(key, new MemoryStream(archive.Store.GetBytes(key)), cancellationToken: Token);
        }

        var expected = archive.Store.Keys.ToList();
        await archive.Store.DeleteAsync(moved, Token);
        var store = new FailoverObjectStore([new FailoverStore("default", archive.Store), new FailoverStore("second", other)],
            new FailoverStoresOptions { CacheFile = CacheFile, CheckSize = 16 });

        await new FailoverCatchUp(store).RunAsync(concurrency: 2, Token);

        Assert.Equal(expected, other.Inner.Keys);
        Assert.Equal(expected, archive.Store.Keys);
        Assert.Equal(ArchiveLayout.SentinelKey(backup), other.Puts.Last(k => k.StartsWith(ArchiveLayout.BaseBackupsPrefix, StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Catch_up_fails_naming_the_store_that_cannot_be_listed()
    {
        var store = Failover(FailoverWritePolicy.All);
        Down(_secondFaults);

        var failure = await Assert.ThrowsAsync<ObjectStoreException>(() => new FailoverCatchUp(store).RunAsync(1, Token));

        Assert.StartsWith("catch-up needs every storage: storage 'second' cannot be listed", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Parallel_operations_share_the_cache_file_without_a_warning()
    {
        var logger = new LogRecorder();
        var store = new FailoverObjectStore([new FailoverStore("default", _primary), new FailoverStore("second", _second)],
            new FailoverStoresOptions { Policy = FailoverWritePolicy.All, CacheFile = CacheFile, CheckSize = 16 }, null, logger);

        await Parallel.ForAsync(0, 64, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = Token },
            async (i, ct) => await store.PutAsync($"k/{i}", new MemoryStream([(byte)i]), cancellationToken: ct));
        store.Dispose();

        Assert.Empty(logger.Warnings);
        Assert.Equal(64, _second.Keys.Count);
        using var cache = JsonDocument.Parse(await File.ReadAllBytesAsync(CacheFile, Token));
        Assert.Equal(2, cache.RootElement.EnumerateObject().Count());
    }

    private sealed class LogRecorder : Microsoft.Extensions.Logging.ILogger<FailoverObjectStore>
    {
        private readonly System.Collections.Concurrent.ConcurrentQueue<(Microsoft.Extensions.Logging.LogLevel Level, string Text)> _entries = new();

        public IEnumerable<string> Messages => _entries.Select(e => e.Text);

        public IEnumerable<string> Warnings => _entries.Where(e => e.Level >= Microsoft.Extensions.Logging.LogLevel.Warning).Select(e => e.Text);

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception,
            Func<TState, Exception?, string> formatter) => _entries.Enqueue((logLevel, formatter(state, exception)));
    }

    private static async Task<string> ReadAsync(FailoverObjectStore store, string key)
    {
        await using var stream = await store.OpenReadAsync(key, null, Token);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return await reader.ReadToEndAsync(Token);
    }
}
