namespace PgArchive.EndToEnd;

/// <summary>
/// wal-receive streams from a standby (cascading replication) through its slot there; the standby is promoted: wal-receive
/// follows it onto timeline 2 (the end of timeline 1, TIMELINE_HISTORY, START_REPLICATION on the new timeline), stores
/// 00000002.history, and a restore of the primary's backup recovers across the switch to the promoted server's last row.
/// </summary>
public sealed class WalReceiveTimelineTests(PgArchiveCli cli, ITestOutputHelper output) : IAsyncLifetime
{
    private readonly ArchiveWorkspace _workspace = new();

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync() => _workspace.DisposeAsync();

    [Fact]
    public async Task Wal_receive_follows_a_promoted_standby_onto_the_new_timeline_and_the_archive_recovers_across_the_switch()
    {
        var settings = _workspace.FileArchiveSettings;
        await using var primary = await PostgresCluster.StartAsync(_workspace.PathFor("primary"), "true", settings);
        await primary.PgbenchAsync("-i", "-s", "1", "-q");
        await using var standby = await PostgresCluster.StartStandbyAsync(_workspace.PathFor("standby"), primary);
        await using var receive = await BackgroundCli.StartAsync(cli, PitrScenario.Merge(settings, standby.LibpqEnvironment), _workspace.PathFor("receive.log"),
            "wal-receive", "--slot", "pgarchive_cascade", "--create-slot", "--flush-interval=200ms");
        await receive.WaitForLogAsync("Streaming WAL from", TimeSpan.FromSeconds(30));
        (await cli.RunAsync(PitrScenario.Merge(settings, primary.LibpqEnvironment), "backup-push", primary.DataDirectory)).EnsureSuccess("backup-push");

        await primary.ExecuteAsync("CREATE TABLE switch (id int, timeline int)");
        await primary.ExecuteAsync("INSERT INTO switch SELECT g, 1 FROM generate_series(1, 500) g");
        await WalReceiveTests.WaitUntilStoredAsync(standby, await primary.ScalarAsync<string>("SELECT pg_current_wal_flush_lsn()::text"), receive);
        await primary.StopAsync();

        await standby.ExecuteAsync("SELECT pg_promote()");
        await standby.WaitUntilPromotedAsync(TimeSpan.FromMinutes(1));
        await standby.ExecuteAsync("INSERT INTO switch SELECT g, 2 FROM generate_series(501, 800) g");
        await standby.PgbenchAsync("-t", "200", "-n");
        var expected = await ChecksumAsync(standby);
        Assert.Equal(2, await standby.ScalarAsync<int>("SELECT substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8)::int"));
        await WalReceiveTests.WaitUntilStoredAsync(standby, await standby.ScalarAsync<string>("SELECT pg_current_wal_flush_lsn()::text"), receive);
        output.WriteLine(string.Join('\n', receive.Log.Split('\n').Where(l => l.Contains("timeline", StringComparison.OrdinalIgnoreCase)).Take(10)));

        Assert.True(File.Exists(Path.Combine(_workspace.ArchiveDirectory, "wal_005", "00000002.history.lz4")) ||
            File.Exists(Path.Combine(_workspace.ArchiveDirectory, "wal_005", "00000002.history")), "00000002.history was not stored:\n" + receive.Log);
        await receive.SignalAsync("INT");
        await standby.StopAndDeleteAsync();

        await using var restored = await WalReceiveTests.RestoreToEndAsync(cli, _workspace, settings, "LATEST");
        Assert.Equal(expected, await ChecksumAsync(restored));
        Assert.Equal(3, await restored.ScalarAsync<int>("SELECT substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8)::int")); // promoted once more at the end of timeline 2
    }

    private static Task<string> ChecksumAsync(PostgresCluster cluster) => cluster.ScalarAsync<string>(
        "SELECT (SELECT count(*) || ':' || sum(id) || ':' || sum(timeline) FROM switch) || '/' || (SELECT sum(abalance) FROM pgbench_accounts) || '/' || " +
        "(SELECT count(*) FROM pgbench_history)");
}
