namespace PgArchive.EndToEnd;

/// <summary>
/// The CLI through PGARCHIVE_FAULT_INJECTION (testing only): backup-push, wal-push, backup-fetch and wal-fetch ride
/// out 10% transient storage faults and PITR restores exactly; a permanent fault fails backup-push and leaves no backup listed.
/// </summary>
public sealed class StorageFaultTests(PgArchiveCli cli) : IAsyncLifetime
{
    private readonly ArchiveWorkspace _workspace = new();

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync() => _workspace.DisposeAsync();

    private Dictionary<string, string?> Faulty(string faults)
    {
        var settings = _workspace.FileArchiveSettings;
        settings["PGARCHIVE_FAULT_INJECTION"] = faults;
        settings["PGARCHIVE_STORE_RETRY_DELAY"] = "0.01";
        settings["WALG_TAR_SIZE_THRESHOLD"] = (2 << 20).ToString(System.Globalization.CultureInfo.InvariantCulture);
        return settings;
    }

    [Fact]
    public async Task Pitr_restore_through_ten_percent_transient_faults_is_exact()
    {
        var settings = Faulty("0.1:" + Environment.TickCount.ToString(System.Globalization.CultureInfo.InvariantCulture));

        var report = await PitrScenario.RunAsync(cli, _workspace, settings);

        Assert.Equal(report.PgbenchAccounts, report.RestoredAccounts);
        Assert.Equal([1, 2, 3], report.MarkersRestored);
        Assert.True(report.SegmentsFetched >= 2, $"recovery should replay archived segments, fetched {report.SegmentsFetched}");
    }

    [Fact]
    public async Task Permanent_put_fault_fails_backup_push_and_lists_nothing()
    {
        var clean = _workspace.FileArchiveSettings;
        await using var source = await PostgresCluster.StartAsync(_workspace.PathFor("source"), "true", clean);

        var push = await cli.RunAsync(PitrScenario.Merge(Faulty("permanent:put"), source.LibpqEnvironment), "backup-push", source.DataDirectory);
        var list = await cli.RunAsync(clean, "backup-list", "--json");

        Assert.Equal(1, push.ExitCode);
        Assert.Contains("Injected permanent fault", push.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", push.Stderr, StringComparison.Ordinal);
        Assert.Equal("[]", list.EnsureSuccess("backup-list").Stdout.Trim());
        Assert.Empty(Directory.Exists(Path.Combine(_workspace.ArchiveDirectory, "basebackups_005"))
            ? Directory.GetFiles(Path.Combine(_workspace.ArchiveDirectory, "basebackups_005"), "*_backup_stop_sentinel.json")
            : []);
        Assert.False(await source.ScalarAsync<bool>("SELECT count(*) > 0 FROM pg_stat_activity WHERE backend_type = 'client backend' AND query ILIKE '%pg_backup_start%' AND pid <> pg_backend_pid()"));
    }
}
