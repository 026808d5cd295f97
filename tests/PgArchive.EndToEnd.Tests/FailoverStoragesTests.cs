using System.Text.Json;

namespace PgArchive.EndToEnd;

/// <summary>
/// Two repositories (WALG_FAILOVER_STORAGES): the S3 emulator as the primary and a local directory, PostgreSQL 15
/// archiving to both while the S3 server is stopped (its process killed by PID) and started again. With policy all,
/// wal-push fails while S3 is down and archiving catches up once it is back; with first-alive, archiving goes on to the
/// local store and the segments S3 missed reach it when it is back. After <c>catch-up</c> both hold every segment, and
/// a restore from either alone reaches a restore point with exact rows.
/// </summary>
public sealed class FailoverStoragesTests(PgArchiveCli cli, S3rverForPitr s3rver) : IClassFixture<S3rverForPitr>, IAsyncLifetime
{
    private const string State = "SELECT (SELECT count(*) || ':' || sum(v) FROM t) || '/' || (SELECT coalesce(string_agg(id::text, ',' ORDER BY id), '') FROM marker)";
    private readonly ArchiveWorkspace _workspace = new();
    private readonly string _folder = "failover-" + Guid.NewGuid().ToString("N")[..8];

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync() => _workspace.DisposeAsync();

    private Dictionary<string, string?> S3Settings
    {
        get
        {
            var settings = s3rver.Settings(_folder);
            settings["S3_MAX_RETRIES"] = "0"; // a stopped server fails at once: the failover store decides what follows
            return settings;
        }
    }

    private Dictionary<string, string?> LocalSettings => new() { ["WALG_FILE_PREFIX"] = _workspace.ArchiveDirectory };

    private Dictionary<string, string?> FailoverSettings(string policy)
    {
        var settings = S3Settings;
        settings["WALG_FAILOVER_STORAGES"] = JsonSerializer.Serialize(new Dictionary<string, Dictionary<string, string>>
        {
            ["local"] = new() { ["WALG_FILE_PREFIX"] = _workspace.ArchiveDirectory },
        });
        settings["PGARCHIVE_FAILOVER_STORAGES_POLICY"] = policy;
        settings["WALG_FAILOVER_STORAGES_CACHE_LIFETIME"] = "1s";
        settings["WALG_FAILOVER_STORAGES_CHECK_TIMEOUT"] = "5s";
        settings["WALG_FAILOVER_STORAGES_CHECK_SIZE"] = "1kb";
        settings["PGARCHIVE_FAILOVER_STORAGES_CACHE_FILE"] = Path.Combine(_workspace.CreateDirectory("status"), "storage-status");
        settings["PGARCHIVE_STORE_RETRIES"] = "1";
        settings["PGARCHIVE_STORE_RETRY_DELAY"] = "0.1";
        settings["WALG_UPLOAD_CONCURRENCY"] = "1";
        return settings;
    }

    [Fact]
    public async Task Policy_all_fails_wal_push_while_S3_is_down_then_catches_up_and_either_store_alone_restores_exactly()
    {
        var settings = FailoverSettings("all");
        await using var cluster = await StartAsync(settings);
        await s3rver.Server.StopAsync();
        string missed;
        try
        {
            await cluster.ExecuteAsync("INSERT INTO t SELECT g, g FROM generate_series(1001, 2000) g");
            missed = await cluster.ScalarAsync<string>("SELECT pg_walfile_name(pg_switch_wal())");
            await WaitForFailedArchivingAsync(cluster);
            Assert.DoesNotContain(missed, await SegmentsAsync(LocalSettings));
        }
        finally
        {
            await s3rver.Server.RestartAsync();
        }

        var expected = await FinishAsync(cluster);

        Assert.Contains(missed, await SegmentsAsync(S3Settings));
        await CatchUpAndRestoreFromEachAsync(settings, expected);
    }

    [Fact]
    public async Task Policy_first_alive_archives_to_the_local_store_while_S3_is_down_and_S3_gets_what_it_missed_when_it_is_back()
    {
        var settings = FailoverSettings("first-alive");
        await using var cluster = await StartAsync(settings);
        var missed = new List<string>();
        await s3rver.Server.StopAsync();
        try
        {
            for (var i = 0; i < 2; i++)
            {
                await cluster.ExecuteAsync($"INSERT INTO t SELECT g, g FROM generate_series({1001 + (i * 1000)}, {2000 + (i * 1000)}) g");
                missed.Add(await cluster.ScalarAsync<string>("SELECT pg_walfile_name(pg_switch_wal())"));
                await cluster.WaitForArchiveAsync(missed[^1], TimeSpan.FromMinutes(1));
            }
        }
        finally
        {
            await s3rver.Server.RestartAsync();
        }

        Assert.Superset(missed.ToHashSet(), (await SegmentsAsync(LocalSettings)).ToHashSet());
        await Task.Delay(1500, Token); // the cached "dead" of S3 outlives its lifetime: the next wal-push checks S3 again
        var expected = await FinishAsync(cluster);

        // The first wal-push that reached S3 again copied the segments it missed near the pushed one.
        Assert.Superset(missed.ToHashSet(), (await SegmentsAsync(S3Settings)).ToHashSet());
        await CatchUpAndRestoreFromEachAsync(settings, expected);
    }

    [Fact]
    public async Task Malformed_failover_storages_json_is_one_line_naming_the_variable()
    {
        var settings = LocalSettings;
        settings["WALG_FAILOVER_STORAGES"] = """{"second": {"WALG_FILE_PREFIX": "/tmp/x"}""";

        var result = await cli.RunAsync(settings, "backup-list");

        CliAssert.CleanFailure(result, 2, "WALG_FAILOVER_STORAGES is not valid JSON (line 1, byte 42): it must be a JSON object of storage name → settings");
    }

    private async Task<PostgresCluster> StartAsync(Dictionary<string, string?> settings)
    {
        var cluster = await PostgresCluster.StartAsync(_workspace.PathFor("source"), $"\"{cli.Executable}\" wal-push \"%p\"", settings);
        await cluster.ExecuteAsync("CREATE TABLE t (id int PRIMARY KEY, v int); CREATE TABLE marker (id int PRIMARY KEY)");
        await cluster.ExecuteAsync("INSERT INTO t SELECT g, g FROM generate_series(1, 1000) g");
        (await cli.RunAsync(PitrScenario.Merge(settings, cluster.LibpqEnvironment), "backup-push", cluster.DataDirectory)).EnsureSuccess("backup-push to both stores");
        await cluster.SwitchWalAndWaitForArchiveAsync();
        return cluster;
    }

    /// <summary>Rows and a restore point after S3 is back, more rows after it, archived; the rows at the restore point.</summary>
    private static async Task<string> FinishAsync(PostgresCluster cluster)
    {
        await cluster.ExecuteAsync("INSERT INTO marker VALUES (1), (2), (3)");
        var expected = await cluster.ScalarAsync<string>(State);
        await cluster.ExecuteAsync("SELECT pg_create_restore_point('failover')");
        await cluster.ExecuteAsync("INSERT INTO marker VALUES (4); UPDATE t SET v = v + 1");
        await cluster.SwitchWalAndWaitForArchiveAsync(TimeSpan.FromMinutes(2));
        await cluster.StopAndDeleteAsync();
        return expected;
    }

    private async Task CatchUpAndRestoreFromEachAsync(Dictionary<string, string?> settings, string expected)
    {
        var caughtUp = (await cli.RunAsync(settings, "catch-up")).EnsureSuccess("catch-up");
        Assert.Contains("catch-up: storage default:", caughtUp.Stderr, StringComparison.Ordinal);
        var s3 = await SegmentsAsync(S3Settings);
        Assert.Equal(s3, await SegmentsAsync(LocalSettings));
        Assert.True(s3.Count >= 4, $"expected the archived segments in both stores, got {string.Join(", ", s3)}");
        var backups = await BackupNamesAsync(S3Settings);
        Assert.Single(backups);
        Assert.Equal(backups, await BackupNamesAsync(LocalSettings));

        foreach (var (name, alone) in new[] { ("s3", S3Settings), ("local", LocalSettings) })
        {
            var directory = _workspace.CreateDirectory("restored-" + name);
            (await cli.RunAsync(alone, "backup-fetch", Path.Combine(directory, "data"), "LATEST",
                "--recovery-target-name", "failover", "--recovery-target-action", "promote")).EnsureSuccess($"backup-fetch from {name} alone");
            await using var restored = await PostgresCluster.StartAsync(directory, "true", alone);
            await restored.WaitUntilPromotedAsync(TimeSpan.FromMinutes(2));
            Assert.Equal(expected, await restored.ScalarAsync<string>(State));
            await restored.StopAndDeleteAsync();
        }
    }

    /// <summary>The WAL segment names one store holds (st ls -r wal_005).</summary>
    private async Task<List<string>> SegmentsAsync(Dictionary<string, string?> settings)
    {
        var listing = (await cli.RunAsync(settings, "st", "ls", "-r", "wal_005")).EnsureSuccess("st ls -r wal_005").Stdout;
        return [.. listing.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1)
            .Select(line => line.Trim().Split(' ')[^1])
            .Where(name => name.Length > 24 && name[24] == '.')
            .Select(name => name[..24])
            .Order(StringComparer.Ordinal)];
    }

    /// <summary>The backups one store lists (their modification times differ: a copy is stored later).</summary>
    private async Task<List<string>> BackupNamesAsync(Dictionary<string, string?> settings) =>
        [.. (await cli.RunAsync(settings, "backup-list")).EnsureSuccess("backup-list").Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Skip(1).Select(line => line.Split(' ')[0])];

    private static async Task WaitForFailedArchivingAsync(PostgresCluster cluster)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(1);
        while (await cluster.ScalarAsync<long>("SELECT failed_count FROM pg_stat_archiver") == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "wal-push never failed while S3 was down");
            await Task.Delay(200, Token);
        }
    }
}
