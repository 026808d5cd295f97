using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Time.Testing;
using PgArchive.PostgresTypes;
using PgArchive.Storage;
using PgArchive.Streaming;

namespace PgArchive.HealthChecks;

/// <summary>The health check with a <see cref="WalReceiver"/> in the host: its receive lag in the data, Degraded past the limit.</summary>
public sealed class WalReceiveLagHealthTests : IAsyncDisposable
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero));
    private readonly ServiceProvider _services;

    public WalReceiveLagHealthTests()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<TimeProvider>(_time);
        services.AddPgArchive().UseInMemory().AddWalReceiver(o => o.ConnectionString = "Host=127.0.0.1");
        services.AddHealthChecks().AddPgArchive(o => o.MaxWalReceiveLag = TimeSpan.FromSeconds(30));
        _services = services.BuildServiceProvider();
    }

    public ValueTask DisposeAsync() => _services.DisposeAsync();

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private ReceiveLagTracker Lag => _services.GetRequiredService<WalReceiver>().LagTracker;

    private async Task<HealthReportEntry> CheckWithFreshArchiveAsync()
    {
        var store = _services.GetRequiredService<InMemoryObjectStore>();
        await store.PutAsync(ArchiveLayout.SentinelKey("base_000000010000000000000004"), new MemoryStream("{}"u8.ToArray()), PutMode.Overwrite, Token);
        await store.PutAsync(ArchiveLayout.WalKey("000000010000000000000004", "lz4"), new MemoryStream([1]), PutMode.Overwrite, Token);
        return (await _services.GetRequiredService<HealthCheckService>().CheckHealthAsync(Token)).Entries["pgarchive"];
    }

    [Fact]
    public async Task Healthy_while_the_archive_keeps_up_with_the_server_and_the_lag_is_in_the_data()
    {
        Lag.Reset(new Lsn(0x3000000));
        Lag.ServerAt(new Lsn(0x3000800));
        _time.Advance(TimeSpan.FromSeconds(20));

        var entry = await CheckWithFreshArchiveAsync();

        Assert.Equal(HealthStatus.Healthy, entry.Status);
        Assert.Equal(20.0, entry.Data["wal_receive_lag_seconds"]);
        Assert.Equal(0x800L, entry.Data["wal_receive_lag_bytes"]);
        Assert.Equal("0/3000800", entry.Data["wal_receive_server_flush_lsn"]);
        Assert.Equal("0/3000000", entry.Data["wal_receive_stored_lsn"]);
    }

    [Fact]
    public async Task Degraded_when_flushed_wal_waits_longer_than_the_limit_and_healthy_again_once_stored()
    {
        Lag.Reset(new Lsn(0x3000000));
        Lag.ServerAt(new Lsn(0x3000800));
        _time.Advance(TimeSpan.FromSeconds(45));

        var lagging = await CheckWithFreshArchiveAsync();

        Assert.Equal(HealthStatus.Degraded, lagging.Status);
        Assert.StartsWith("WAL streaming lags: the server flushed 2048 bytes the archive does not hold, the oldest 45 s ago (limit 30 s)", lagging.Description,
            StringComparison.Ordinal);

        Lag.StoredUpTo(new Lsn(0x3000800));
        var caughtUp = await CheckWithFreshArchiveAsync();

        Assert.Equal(HealthStatus.Healthy, caughtUp.Status);
        Assert.Equal(0.0, caughtUp.Data["wal_receive_lag_seconds"]);
    }

    [Fact]
    public async Task Without_a_receiver_the_data_has_no_receive_lag()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddPgArchive().UseInMemory();
        services.AddHealthChecks().AddPgArchive();
        await using var provider = services.BuildServiceProvider();

        var entry = (await provider.GetRequiredService<HealthCheckService>().CheckHealthAsync(Token)).Entries["pgarchive"];

        Assert.DoesNotContain("wal_receive_lag_seconds", entry.Data.Keys);
    }
}
