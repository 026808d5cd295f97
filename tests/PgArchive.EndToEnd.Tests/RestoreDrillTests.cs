using System.Text.Json;

namespace PgArchive.EndToEnd;

/// <summary>
/// restore-drill against a real PostgreSQL 15: a good backup restores, recovers to the end of the archive and
/// passes amcheck, and the drill cleans up after itself; a damaged backup makes it fail, also cleaning up.
/// </summary>
public sealed class RestoreDrillTests(PgArchiveCli cli) : IAsyncLifetime
{
    private readonly ArchiveWorkspace _workspace = new();

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync() => _workspace.DisposeAsync();

    [Fact]
    public async Task Drill_proves_a_good_backup_and_fails_on_a_damaged_one_leaving_nothing_behind()
    {
        var settings = _workspace.FileArchiveSettings;
        var drillTemp = _workspace.CreateDirectory("drill-tmp");
        var drillSettings = new Dictionary<string, string?>(settings) { ["TMPDIR"] = drillTemp };
        await using var source = await PostgresCluster.StartAsync(_workspace.PathFor("source"), $"\"{cli.Executable}\" wal-push \"%p\"", settings);
        await source.PgbenchAsync("-i", "-s", "1", "-q");
        var name = (await cli.RunAsync(PitrScenario.Merge(settings, source.LibpqEnvironment), "backup-push", source.DataDirectory)).EnsureSuccess("backup-push").Stdout.Trim();
        await source.ExecuteAsync("CREATE TABLE after_backup (id int PRIMARY KEY)");
        await source.ExecuteAsync("INSERT INTO after_backup SELECT generate_series(1, 5000)");
        var lastCommit = await source.ScalarAsync<DateTime>("SELECT now()");
        await source.SwitchWalAndWaitForArchiveAsync();

        var drill = await cli.RunAsync(drillSettings, "restore-drill", "LATEST", "--json");

        drill.EnsureSuccess("restore-drill");
        using (var report = JsonDocument.Parse(drill.Stdout))
        {
            var root = report.RootElement;
            Assert.Equal(name, root.GetProperty("backup_name").GetString());
            Assert.True(root.GetProperty("succeeded").GetBoolean());
            Assert.Empty(root.GetProperty("failures").EnumerateArray());
            var postgres = root.GetProperty("databases").EnumerateArray().Single(d => d.GetProperty("name").GetString() == "postgres");
            Assert.True(postgres.GetProperty("rows").GetInt64() >= 100_000 + 5_000 + 10 + 1, postgres.ToString());
            Assert.True(postgres.GetProperty("btree_indexes_checked").GetInt32() >= 4, postgres.ToString());
            Assert.True(root.GetProperty("time_to_restore_seconds").GetDouble() > 0);
            var replayed = root.GetProperty("last_replayed_timestamp").GetDateTimeOffset();
            Assert.True(replayed.UtcDateTime >= lastCommit.ToUniversalTime().AddSeconds(-1), $"replayed up to {replayed:O}, the last commit was at {lastCommit:O}");
        }

        Assert.Empty(Directory.EnumerateFileSystemEntries(drillTemp));

        var text = (await cli.RunAsync(drillSettings, "restore-drill", name)).EnsureSuccess("restore-drill (text)").Stdout;
        Assert.Contains("time to restore (RTO): ", text, StringComparison.Ordinal);
        Assert.Contains("result: OK", text, StringComparison.Ordinal);

        var part = Path.Combine(_workspace.ArchiveDirectory, "basebackups_005", name, "tar_partitions", "part_001.tar.lz4");
        var bytes = await File.ReadAllBytesAsync(part, TestContext.Current.CancellationToken);
        await File.WriteAllBytesAsync(part, bytes[..(bytes.Length / 2)], TestContext.Current.CancellationToken); // truncated

        var damaged = await cli.RunAsync(drillSettings, "restore-drill", "LATEST");

        Assert.Equal(1, damaged.ExitCode);
        Assert.Contains("restore-drill failed: ", damaged.Stderr, StringComparison.Ordinal);
        Assert.True(damaged.Stderr.Contains("part_001.tar.lz4", StringComparison.Ordinal), damaged.Stderr);
        Assert.Contains("result: FAILED", damaged.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", damaged.Stderr, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(drillTemp));
    }
}
