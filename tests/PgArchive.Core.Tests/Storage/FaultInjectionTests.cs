using System.Formats.Tar;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using PgArchive.Backups;
using PgArchive.Support;
using PgArchive.Wal;

namespace PgArchive.Storage;

/// <summary>
/// The archive rides out transient storage faults (errors, resets part-way through puts and reads, lost
/// acknowledgements, latency, short reads) through the retry layer AddPgArchive puts in front of the store, and
/// fails cleanly, storing nothing, when a fault is permanent.
/// </summary>
public sealed class FaultInjectionTests : IDisposable
{
    private const string Backup = "base_000000010000000000000004";
    private readonly string _root = Directory.CreateTempSubdirectory("pgarchive-faults-").FullName;
    private readonly InMemoryObjectStore _store = new();
    private readonly List<ServiceProvider> _providers = [];

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public void Dispose()
    {
        foreach (var provider in _providers)
        {
            provider.Dispose();
        }

        Directory.Delete(_root, recursive: true);
    }

    private ServiceProvider Services(FaultInjectionOptions faults, int retries = 8)
    {
        var services = new ServiceCollection();
        services.AddSingleton<IObjectStore>(_store);
        services.AddPgArchive(o => (o.StoreRetries, o.StoreRetryDelay) = (retries, TimeSpan.FromMilliseconds(1)))
            .UseFaultInjection(faults);
        var provider = services.BuildServiceProvider();
        _providers.Add(provider);
        return provider;
    }

    private string WriteWal(string name, int seed)
    {
        var path = Path.Combine(_root, name);
        File.WriteAllBytes(path, Segment(name, seed));
        return path;
    }

    private static byte[] Segment(string name, int seed) => WalSegments.Create(name, size => Codecs.Data(size, seed));

    [Fact]
    public async Task Wal_push_and_fetch_round_trip_byte_identical_through_ten_percent_faults()
    {
        var services = Services(new FaultInjectionOptions { FailureRate = 0.1, Seed = 20261125 });
        var archiver = services.GetRequiredService<WalArchiver>();
        var names = Enumerable.Range(1, 40).Select(i => $"0000000100000000000000{i:X2}").ToList();
        foreach (var (name, i) in names.Select((n, i) => (n, i)))
        {
            await archiver.PushAsync(WriteWal(name, i), Token);
        }

        foreach (var (name, i) in names.Select((n, i) => (n, i)))
        {
            var restored = Path.Combine(_root, "restored-" + name);
            await archiver.FetchAsync(name, restored, Token);
            Assert.Equal(Segment(name, i), await File.ReadAllBytesAsync(restored, Token));
        }

        var injected = services.GetRequiredService<FaultInjectingObjectStore>().InjectedFaults;
        Assert.True(injected >= 4, $"only {injected} faults were injected: the test proves nothing");
        Assert.Equal(names.Count, _store.Keys.Count(k => k.StartsWith("wal_005/", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Backup_fetch_restores_byte_identical_through_ten_percent_faults_on_reads()
    {
        var relation = Codecs.Data(3 << 20, seed: 5);
        var pgControl = Codecs.Data(8192, seed: 6);
        var plain = Services(new FaultInjectionOptions { FailureRate = 0 });
        await StoreBackupAsync(plain.GetRequiredService<ObjectCodec>(), relation, pgControl);
        for (var seed = 1; seed <= 6; seed++)
        {
            var services = Services(new FaultInjectionOptions { FailureRate = 0.1, Seed = seed, Operations = FaultOperations.Read | FaultOperations.List | FaultOperations.Info });
            var target = Path.Combine(_root, "restored-" + seed);

            await services.GetRequiredService<BackupFetcher>().FetchAsync(new BackupFetchRequest { TargetDirectory = target, BackupName = Backup }, Token);

            Assert.Equal(relation, await File.ReadAllBytesAsync(Path.Combine(target, "base", "1", "1259"), Token));
            Assert.Equal(pgControl, await File.ReadAllBytesAsync(Path.Combine(target, "global", "pg_control"), Token));
        }
    }

    [Fact]
    public async Task Resets_part_way_through_reads_are_resumed_at_the_byte_reached()
    {
        var data = Codecs.Data(5 << 20, seed: 9);
        await _store.PutAsync("blob", new MemoryStream(data), cancellationToken: Token);
        var faults = new FaultInjectionOptions { FailureRate = 1, Seed = 3, Operations = FaultOperations.Read };
        var retrying = new RetryingObjectStore(new FaultInjectingObjectStore(_store, faults),
            Microsoft.Extensions.Options.Options.Create(new PgArchiveOptions { StoreRetries = 200, StoreRetryDelay = TimeSpan.Zero }));

        var stream = await retrying.OpenReadAsync("blob", cancellationToken: Token);
        await using (stream)
        {
            using var copy = new MemoryStream();
            await stream.CopyToAsync(copy, Token);
            Assert.Equal(data, copy.ToArray());
        }
    }

    [Fact]
    public async Task Permanent_put_fault_fails_the_wal_push_and_stores_nothing()
    {
        var services = Services(new FaultInjectionOptions { Permanent = true, Operations = FaultOperations.Put });
        var archiver = services.GetRequiredService<WalArchiver>();

        var ex = await Assert.ThrowsAsync<ObjectStoreException>(() => archiver.PushAsync(WriteWal("000000010000000000000001", 1), Token));

        Assert.Contains("000000010000000000000001", ex.Message, StringComparison.Ordinal);
        Assert.Empty(_store.Keys);
    }

    [Theory]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    public async Task Puts_failing_every_time_never_leave_a_partial_object(int seed)
    {
        var services = Services(new FaultInjectionOptions { FailureRate = 1, Seed = seed, Operations = FaultOperations.Put }, retries: 2);
        var archiver = services.GetRequiredService<WalArchiver>();

        // Either every attempt failed (transient error after the retries), or a lost acknowledgement stored the
        // whole object and the retry found it identical. Never a part of the object.
        try
        {
            var result = await archiver.PushAsync(WriteWal("000000010000000000000002", 2), Token);
            Assert.True(result.AlreadyArchived);
        }
        catch (ObjectStoreException ex)
        {
            Assert.True(ex.IsTransient);
        }

        foreach (var key in _store.Keys)
        {
            Assert.Equal(await EncodedLengthAsync(services, 2), _store.GetBytes(key).Length);
            var restored = Path.Combine(_root, "restored");
            await Services(new FaultInjectionOptions { FailureRate = 0 }).GetRequiredService<WalArchiver>().FetchAsync("000000010000000000000002", restored, Token);
            Assert.Equal(Segment("000000010000000000000002", 2), await File.ReadAllBytesAsync(restored, Token));
        }
    }

    [Fact]
    public async Task A_store_that_retries_itself_is_not_retried_again()
    {
        var down = new DownStore();
        var retrying = new RetryingObjectStore(down, Microsoft.Extensions.Options.Options.Create(new PgArchiveOptions { StoreRetries = 5, StoreRetryDelay = TimeSpan.Zero }));

        await Assert.ThrowsAsync<ObjectStoreException>(() => retrying.GetInfoAsync("k", Token));

        Assert.Equal(1, down.Calls);
    }

    [Fact]
    public async Task Transient_failures_are_retried_and_permanent_ones_are_not()
    {
        var flaky = new FaultInjectingObjectStore(_store, new FaultInjectionOptions { FailureRate = 1, Operations = FaultOperations.Info });
        var refusing = new FaultInjectingObjectStore(_store, new FaultInjectionOptions { Permanent = true, Operations = FaultOperations.Info });
        var options = Microsoft.Extensions.Options.Options.Create(new PgArchiveOptions { StoreRetries = 3, StoreRetryDelay = TimeSpan.Zero });

        await Assert.ThrowsAsync<ObjectStoreException>(() => new RetryingObjectStore(flaky, options).GetInfoAsync("k", Token));
        await Assert.ThrowsAsync<ObjectStoreException>(() => new RetryingObjectStore(refusing, options).GetInfoAsync("k", Token));

        Assert.Equal(4, flaky.InjectedFaults);
        Assert.Equal(1, refusing.InjectedFaults);
    }

    private sealed class DownStore : IObjectStore, ISelfRetryingObjectStore
    {
        public int Calls;

        public Task PutAsync(string key, Stream content, PutMode mode = PutMode.Overwrite, CancellationToken cancellationToken = default) => throw Down(key);

        public Task<Stream> OpenReadAsync(string key, ByteRange? range = null, CancellationToken cancellationToken = default) => throw Down(key);

        public Task<ObjectInfo?> GetInfoAsync(string key, CancellationToken cancellationToken = default) => throw Down(key);

        public IAsyncEnumerable<ObjectInfo> ListAsync(string prefix, CancellationToken cancellationToken = default) => throw Down(prefix);

        public Task DeleteAsync(IEnumerable<string> keys, CancellationToken cancellationToken = default) => throw Down("");

        private ObjectStoreException Down(string key)
        {
            Calls++;
            return new ObjectStoreException(ObjectStoreErrorKind.Unavailable, key, "down after the SDK's own retries");
        }
    }

    [Fact]
    public void Diagnostic_setting_parses_rate_seed_and_operations()
    {
        var options = FaultInjectionOptions.Parse("0.25:7:put,read");
        Assert.Equal((0.25, 7, FaultOperations.Put | FaultOperations.Read, false), (options.FailureRate, options.Seed, options.Operations, options.Permanent));
        Assert.True(FaultInjectionOptions.Parse("permanent:put").Permanent);
        Assert.Throws<PgArchiveConfigurationException>(() => FaultInjectionOptions.Parse("1.5"));
        Assert.Throws<PgArchiveConfigurationException>(() => FaultInjectionOptions.Parse("0.1:x"));
        Assert.Throws<PgArchiveConfigurationException>(() => FaultInjectionOptions.Parse("0.1:1:fly"));
    }

    private static async Task<int> EncodedLengthAsync(ServiceProvider services, int seed)
    {
        var codec = services.GetRequiredService<ObjectCodec>();
        using var stored = new MemoryStream();
        await using (var encode = codec.Encode(stored, codec.Compressors.Default))
        {
            await encode.WriteAsync(Segment("000000010000000000000002", seed), Token);
        }

        return stored.ToArray().Length;
    }

    private Task<Dictionary<string, string>> StoreBackupAsync(ObjectCodec codec, byte[] relation, byte[] pgControl) =>
        SyntheticBackup.StoreAsync(_store, codec, Backup,
            SyntheticBackup.Partitions(pgControl, TarMember.File("PG_VERSION", "15\n"u8.ToArray()), TarMember.File("base/1/1259", relation)),
            withFilesMetadata: false);
}
