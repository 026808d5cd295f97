using System.Globalization;

namespace PgArchive.EndToEnd;

/// <summary>
/// backup-push --remote run as OS user <c>nobody</c>, who cannot read the cluster's data directory (mode 0700, another
/// user): the backup comes through BASE_BACKUP, with a tablespace; the cluster is destroyed; backup-fetch restores it and
/// PostgreSQL recovers through the WAL wal-receive stored, with exactly the rows of the source.
/// </summary>
public sealed class RemoteBackupTests(PgArchiveCli cli, ITestOutputHelper output) : IAsyncLifetime
{
    private readonly ArchiveWorkspace _workspace = new();

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync() => _workspace.DisposeAsync();

    [Theory]
    [MemberData(nameof(WalReceiveTests.Majors), MemberType = typeof(WalReceiveTests))]
    public async Task Remote_backup_of_a_cluster_whose_files_it_cannot_read_restores_with_exact_rows(int major)
    {
        Assert.True(ProcessRunner.IsRoot, "this test runs pgarchive as OS user nobody: run it as root");
        var settings = _workspace.FileArchiveSettings;
        File.SetUnixFileMode(_workspace.ArchiveDirectory, (UnixFileMode)Convert.ToInt32("1777", 8)); // wal-receive as postgres, backup-push as nobody
        var tablespace = _workspace.CreateDirectory("tablespace");
        await using var source = await PostgresCluster.StartAsync(_workspace.PathFor("source"), "true", settings, major: major);
        var environment = PitrScenario.Merge(settings, source.LibpqEnvironment);
        await using var receive = await BackgroundCli.StartAsync(cli, environment, _workspace.PathFor("receive.log"), "wal-receive", "--create-slot", "--flush-interval=200ms");
        await receive.WaitForLogAsync("Streaming WAL from", TimeSpan.FromSeconds(30));
        await source.PgbenchAsync("-i", "-s", "2", "-q");
        await source.ExecuteAsync($"CREATE TABLESPACE elsewhere LOCATION '{tablespace}'");
        await source.ExecuteAsync("CREATE TABLE spaced TABLESPACE elsewhere AS SELECT g AS id, md5(g::text) AS h FROM generate_series(1, 20000) g");

        var nobody = await ProcessRunner.RunAsync("runuser", ["-u", "nobody", "--", "ls", source.DataDirectory], asOsUser: false);
        Assert.NotEqual(0, nobody.ExitCode); // nobody cannot read PGDATA
        var environmentOfNobody = new Dictionary<string, string?>(PgArchiveCli.WithCleanEnvironment(environment)) { ["HOME"] = "/tmp" };
        var push = await ProcessRunner.RunAsync("runuser", ["-u", "nobody", "--", cli.Executable, "backup-push", "--remote", "--max-rate", "512M"],
            environmentOfNobody, TimeSpan.FromMinutes(5), asOsUser: false);
        push.EnsureSuccess("backup-push --remote as nobody");
        var name = push.Stdout.Trim();
        output.WriteLine($"PostgreSQL {major}: {name}");
        Assert.True(File.Exists(Path.Combine(_workspace.ArchiveDirectory, "basebackups_005", name, "backup_manifest.lz4")));

        await source.ExecuteAsync("CREATE TABLE after_backup AS SELECT g AS id FROM generate_series(1, 3000) g");
        var expected = await ChecksumAsync(source);
        await StoreAllAndDestroyAsync(source, receive);
        Directory.Delete(tablespace, recursive: true);
        _workspace.CreateDirectory("tablespace");

        await using var restored = await WalReceiveTests.RestoreToEndAsync(cli, _workspace, settings, name, major);
        Assert.Equal(expected, await ChecksumAsync(restored));
        Assert.Equal(20000L, await restored.ScalarAsync<long>("SELECT count(*) FROM spaced"));
        (await cli.RunAsync(settings, "backup-verify", name)).EnsureSuccess("backup-verify of the remote backup");
    }

    [Fact]
    public async Task Incremental_remote_backups_on_17_chain_on_the_stored_manifest_and_restore_with_exact_rows()
    {
        var settings = _workspace.FileArchiveSettings;
        await using var source = await PostgresCluster.StartAsync(_workspace.PathFor("source"), "true", settings, "summarize_wal = off\n", major: 17);
        var environment = PitrScenario.Merge(settings, source.LibpqEnvironment);
        environment["WALG_DELTA_MAX_STEPS"] = "6";
        await using var receive = await BackgroundCli.StartAsync(cli, environment, _workspace.PathFor("receive.log"), "wal-receive", "--create-slot", "--flush-interval=200ms");
        await receive.WaitForLogAsync("Streaming WAL from", TimeSpan.FromSeconds(30));
        await source.PgbenchAsync("-i", "-s", "2", "-q");
        await source.ExecuteAsync("CREATE TABLE shrinking AS SELECT g AS id, md5(g::text) AS h FROM generate_series(1, 50000) g");
        var first = await PushAsync(environment);
        Assert.DoesNotContain("_D_", first, StringComparison.Ordinal); // nothing to build on yet

        await source.ExecuteAsync("SELECT pg_switch_wal()");
        WalReceiveTests.AssertOneLine(await cli.RunAsync(environment, "backup-push", "--remote"), 1, "needs summarize_wal = on");

        await source.ExecuteAsync("ALTER SYSTEM SET summarize_wal = on");
        await source.ExecuteAsync("SELECT pg_reload_conf()");
        await source.ExecuteAsync("SELECT pg_switch_wal()");
        var full = await PushAsync(environment, "--full");
        Assert.DoesNotContain("_D_", full, StringComparison.Ordinal);

        // Changes an incremental backup must carry: updated pages, a new table, a relation truncated by VACUUM.
        await source.ExecuteAsync("UPDATE pgbench_accounts SET abalance = abalance + aid % 13 WHERE aid % 7 = 0");
        await source.ExecuteAsync("CREATE TABLE created_after_full AS SELECT g AS id, md5(g::text) AS h FROM generate_series(1, 4000) g");
        await source.ExecuteAsync("DELETE FROM shrinking WHERE id > 3000");
        await source.ExecuteAsync("VACUUM shrinking");
        var delta = await PushAsync(environment);
        Assert.Equal(full[5..29], delta[^24..]);
        Assert.Contains("_D_", delta, StringComparison.Ordinal);

        await source.ExecuteAsync("UPDATE shrinking SET h = upper(h) WHERE id % 5 = 0");
        await source.ExecuteAsync("INSERT INTO created_after_full SELECT g, md5(g::text) FROM generate_series(4001, 4500) g");
        var second = await PushAsync(environment);
        Assert.Equal(delta[5..29], second[^24..]);
        var sentinel = await File.ReadAllTextAsync(Path.Combine(_workspace.ArchiveDirectory, "basebackups_005", second + "_backup_stop_sentinel.json"), TestContext.Current.CancellationToken);
        Assert.Contains($"\"DeltaFrom\":\"{delta}\"", sentinel.Replace(" ", "", StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.Contains("\"DeltaCount\":2", sentinel.Replace(" ", "", StringComparison.Ordinal), StringComparison.Ordinal);
        var metadata = await File.ReadAllTextAsync(Path.Combine(_workspace.ArchiveDirectory, "basebackups_005", second, "files_metadata.json"), TestContext.Current.CancellationToken);
        Assert.Contains("\"IsIncremented\":true", metadata.Replace(" ", "", StringComparison.Ordinal), StringComparison.Ordinal);
        output.WriteLine($"{first} {full} {delta} {second}");

        var expected = await IncrementalChecksumAsync(source);
        await StoreAllAndDestroyAsync(source, receive);

        await using var restored = await WalReceiveTests.RestoreToEndAsync(cli, _workspace, settings, second, 17);
        Assert.Equal(expected, await IncrementalChecksumAsync(restored));
        Assert.Equal(3000L, await restored.ScalarAsync<long>("SELECT count(*) FROM shrinking"));
        (await cli.RunAsync(settings, "backup-verify", second)).EnsureSuccess("backup-verify of the incremental remote backup");
    }

    [Fact]
    public async Task Incremental_remote_backup_is_refused_in_one_line_before_17()
    {
        var settings = _workspace.FileArchiveSettings;
        await using var source = await PostgresCluster.StartAsync(_workspace.PathFor("source"), "true", settings);
        var environment = PitrScenario.Merge(settings, source.LibpqEnvironment);
        environment["WALG_DELTA_MAX_STEPS"] = "6";
        await PushAsync(environment);
        await source.ExecuteAsync("SELECT pg_switch_wal()");
        WalReceiveTests.AssertOneLine(await cli.RunAsync(environment, "backup-push", "--remote"), 1, "needs PostgreSQL 17 or later");
        Assert.Single(Directory.GetDirectories(Path.Combine(_workspace.ArchiveDirectory, "basebackups_005")));
    }

    [Fact]
    public async Task Remote_backup_refuses_a_rate_out_of_range_in_one_line()
    {
        var result = await cli.RunAsync(_workspace.FileArchiveSettings, "backup-push", "--remote", "--max-rate", "5");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--max-rate '5' must be 32k to 1024M", result.Stderr, StringComparison.Ordinal);
        Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task Remote_backup_refuses_a_role_without_replication_a_server_without_wal_senders_and_one_before_15_in_one_line()
    {
        var settings = _workspace.FileArchiveSettings;
        await using (var source = await PostgresCluster.StartAsync(_workspace.PathFor("source"), "true", settings))
        {
            await source.ExecuteAsync("CREATE ROLE plain LOGIN");
            var environment = PitrScenario.Merge(settings, source.LibpqEnvironment);
            environment["PGUSER"] = "plain";
            WalReceiveTests.AssertOneLine(await cli.RunAsync(environment, "backup-push", "--remote"), 1, "replication");
        }

        await using (var noSenders = await PostgresCluster.StartAsync(_workspace.PathFor("nosenders"), "", settings, "max_wal_senders = 0\n"))
        {
            WalReceiveTests.AssertOneLine(await cli.RunAsync(PitrScenario.Merge(settings, noSenders.LibpqEnvironment), "backup-push", "--remote"), 1, "max_wal_senders");
        }

        await using var old = await PostgresCluster.StartAsync(_workspace.PathFor("old"), "true", settings, major: 14);
        WalReceiveTests.AssertOneLine(await cli.RunAsync(PitrScenario.Merge(settings, old.LibpqEnvironment), "backup-push", "--remote"), 1,
            "backup-push --remote needs PostgreSQL 15 or later");
        Assert.Empty(Directory.GetFiles(_workspace.ArchiveDirectory, "*", SearchOption.AllDirectories)); // nothing claimed or stored
    }

    [Fact]
    public async Task Remote_backup_refuses_options_that_read_the_data_directory_in_one_line()
    {
        var result = await cli.RunAsync(_workspace.FileArchiveSettings, "backup-push", "--remote", "--verify");
        WalReceiveTests.AssertOneLine(result, 2, "backup-push --remote reads no data directory: leave out --verify.");
    }

    /// <summary>Waits until wal-receive stored all of <paramref name="source"/>'s WAL, stops it, and destroys the cluster.</summary>
    private static async Task StoreAllAndDestroyAsync(PostgresCluster source, BackgroundCli receive)
    {
        var end = await source.ScalarAsync<string>("SELECT pg_current_wal_flush_lsn()::text");
        await WalReceiveTests.WaitUntilStoredAsync(source, end, receive);
        await receive.SignalAsync("INT");
        await source.StopAndDeleteAsync();
    }

    private async Task<string> PushAsync(IReadOnlyDictionary<string, string?> environment, params string[] args)
    {
        var push = await cli.RunAsync(environment, ["backup-push", "--remote", .. args]);
        return push.EnsureSuccess("backup-push --remote " + string.Join(' ', args)).Stdout.Trim();
    }

    private static Task<string> IncrementalChecksumAsync(PostgresCluster cluster) => cluster.ScalarAsync<string>(
        "SELECT (SELECT count(*) || ':' || sum(abalance) FROM pgbench_accounts) || '/' || (SELECT count(*) || ':' || md5(string_agg(h, '' ORDER BY id)) FROM shrinking) || '/' || " +
        "(SELECT count(*) || ':' || md5(string_agg(h, '' ORDER BY id)) FROM created_after_full) || '/' || pg_relation_size('shrinking')");

    private static Task<string> ChecksumAsync(PostgresCluster cluster) => cluster.ScalarAsync<string>(
        "SELECT (SELECT count(*) FROM pgbench_accounts) || '/' || (SELECT sum(abalance) FROM pgbench_accounts) || '/' || " +
        "(SELECT count(*) || ':' || md5(string_agg(h, '' ORDER BY id)) FROM spaced) || '/' || (SELECT count(*) FROM after_backup)");
}
