using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using PgArchive.Storage;

namespace PgArchive.HealthChecks;

public sealed class PgArchiveHealthCheckTests : IAsyncDisposable
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero));
    private readonly ServiceProvider _services;
    private readonly InMemoryObjectStore _store;

    public PgArchiveHealthCheckTests()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<TimeProvider>(_time);
        services.AddPgArchive().UseInMemory();
        services.AddHealthChecks().AddPgArchive(o =>
        {
            o.MaxBackupAge = TimeSpan.FromHours(24);
            o.MaxWalArchiveLag = TimeSpan.FromMinutes(10);
        });
        _services = services.BuildServiceProvider();
        _store = _services.GetRequiredService<InMemoryObjectStore>();
    }

    public ValueTask DisposeAsync() => _services.DisposeAsync();

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private async Task<HealthReport> CheckAsync() => await _services.GetRequiredService<HealthCheckService>().CheckHealthAsync(Token);

    private Task StoreBackupAsync(string name) =>
        _store.PutAsync(ArchiveLayout.SentinelKey(name), new MemoryStream("{}"u8.ToArray()), cancellationToken: Token);

    private Task StoreWalAsync(string name) =>
        _store.PutAsync(ArchiveLayout.WalKey(name, "lz4"), new MemoryStream([1]), cancellationToken: Token);

    [Fact]
    public async Task Unhealthy_when_there_is_no_backup()
    {
        var report = await CheckAsync();
        Assert.Equal(HealthStatus.Unhealthy, report.Status);
        Assert.Equal("There is no backup in the archive.", report.Entries["pgarchive"].Description);
    }

    [Fact]
    public async Task Healthy_with_a_recent_backup_and_recent_wal_and_says_which()
    {
        await StoreBackupAsync("base_000000010000000000000004");
        _time.Advance(TimeSpan.FromHours(2));
        await StoreWalAsync("000000010000000000000009");
        _time.Advance(TimeSpan.FromMinutes(1));

        var entry = (await CheckAsync()).Entries["pgarchive"];

        Assert.Equal(HealthStatus.Healthy, entry.Status);
        Assert.Equal("base_000000010000000000000004", entry.Data["backup_name"]);
        Assert.Equal(2L * 3600 + 60, entry.Data["backup_age_seconds"]);
        Assert.Equal("000000010000000000000009.lz4", entry.Data["last_archived_wal"]);
        Assert.Equal(60L, entry.Data["last_archived_wal_age_seconds"]);
    }

    [Fact]
    public async Task Unhealthy_when_the_newest_backup_is_older_than_the_limit()
    {
        await StoreBackupAsync("base_000000010000000000000004");
        _time.Advance(TimeSpan.FromHours(25));
        await StoreWalAsync("000000010000000000000009");

        var entry = (await CheckAsync()).Entries["pgarchive"];

        Assert.Equal(HealthStatus.Unhealthy, entry.Status);
        Assert.Contains("is 25 h old (limit 24 h)", entry.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Degraded_when_wal_archiving_lags()
    {
        await StoreBackupAsync("base_000000010000000000000004");
        await StoreWalAsync("000000010000000000000004");
        _time.Advance(TimeSpan.FromMinutes(30));

        var entry = (await CheckAsync()).Entries["pgarchive"];

        Assert.Equal(HealthStatus.Degraded, entry.Status);
        Assert.Contains("30 min old (limit 10 min)", entry.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unhealthy_when_the_store_cannot_be_read()
    {
        await StoreBackupAsync("base_000000010000000000000004");
        _store.FailNext(1, (_, _) => new ObjectStoreException(ObjectStoreErrorKind.AccessDenied, null, "Access denied to the archive."));

        var entry = (await CheckAsync()).Entries["pgarchive"];

        Assert.Equal(HealthStatus.Unhealthy, entry.Status);
        Assert.Equal("The archive cannot be read: Access denied to the archive.", entry.Description);
    }

    [Fact]
    public void Invalid_thresholds_fail_at_start_naming_the_setting()
    {
        var services = new ServiceCollection();
        services.AddPgArchive().UseInMemory();
        services.AddHealthChecks().AddPgArchive(o => o.MaxWalArchiveLag = TimeSpan.Zero);
        using var provider = services.BuildServiceProvider();

        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());

        Assert.Contains("PgArchive:HealthCheck:MaxWalArchiveLag must be positive", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Invalid_archive_options_fail_at_start_naming_the_setting()
    {
        var services = new ServiceCollection();
        services.AddPgArchive(o => o.TarSizeThreshold = 10).UseLocalFileSystem(o => o.RootPath = "");
        using var provider = services.BuildServiceProvider();

        var ex = Assert.Throws<AggregateException>(() => provider.GetRequiredService<IStartupValidator>().Validate());
        var failures = ex.InnerExceptions.OfType<OptionsValidationException>().SelectMany(e => e.Failures).ToList();

        Assert.Contains("PgArchive:TarSizeThreshold (WALG_TAR_SIZE_THRESHOLD) must be at least 1 MiB (1048576), not 10.", failures);
        Assert.Contains("LocalFileSystem:RootPath (WALG_FILE_PREFIX) is required: the directory that holds the archive.", failures);
    }
}
