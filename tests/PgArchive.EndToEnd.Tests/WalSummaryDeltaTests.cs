using System.Globalization;
using System.Text.RegularExpressions;

namespace PgArchive.EndToEnd;

/// <summary>
/// Delta backups on PostgreSQL 17 with <c>summarize_wal = on</c>: a full backup, then deltas that read only the blocks
/// the WAL summaries name (1% of rows updated, a relation truncated by VACUUM, one dropped and recreated under its name,
/// VACUUM FULL, a new database), then deltas that scan pages (PGARCHIVE_DELTA_BLOCK_SOURCE=scan; summarize_wal off; the
/// summaries back to the base removed), and PITR of the last delta with exact rows and amcheck.
/// </summary>
public sealed partial class WalSummaryDeltaTests(PgArchiveCli cli) : IAsyncLifetime
{
    private const string State =
        "SELECT (SELECT count(*) FROM pgbench_history) || '/' || (SELECT sum(abalance) FROM pgbench_accounts) || '/' || " +
        "(SELECT sum(bbalance) FROM pgbench_branches) || '/' || (SELECT count(*) || ':' || sum(id) FROM trunc) || '/' || (SELECT count(*) || ':' || sum(id) FROM recreated)";

    private const string NewDatabaseState = "SELECT count(*) || ':' || sum(v) FROM t";

    private const string Summaries = "WAL summaries";
    private const string BlockMaps = "WAL block maps";
    private const string Scan = "page scan";

    private readonly ArchiveWorkspace _workspace = new();

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync() => _workspace.DisposeAsync();

    [Fact]
    public async Task Deltas_read_only_the_summarized_blocks_fall_back_to_the_scan_when_summaries_cannot_tell_and_restore_exactly()
    {
        var settings = _workspace.FileArchiveSettings;
        settings["WALG_DELTA_MAX_STEPS"] = "6";
        await using var source = await PostgresCluster.StartAsync(_workspace.PathFor("source"), $"\"{cli.Executable}\" wal-push \"%p\"", settings,
            "summarize_wal = on\n", major: 17);
        var push = PitrScenario.Merge(settings, source.LibpqEnvironment);
        await source.PgbenchAsync("-i", "-s", "2", "-q");
        await source.ExecuteAsync("CREATE TABLE trunc AS SELECT g AS id FROM generate_series(1, 40000) g");
        await source.ExecuteAsync("CREATE TABLE recreated AS SELECT g AS id FROM generate_series(1, 20000) g");
        (await cli.RunAsync(push, "backup-push", source.DataDirectory)).EnsureSuccess("full");

        await ChangeEverythingAsync(source);
        var delta1 = await DeltaAsync(push, source.DataDirectory, "delta 1", Summaries, null);

        // The truncated relation grows again; the new database changes; pgbench writes.
        await source.ExecuteAsync("INSERT INTO trunc SELECT g FROM generate_series(50001, 60000) g");
        await ExecuteInAsync(source, "added", "UPDATE t SET v = v * 2 WHERE v % 10 = 0");
        await source.PgbenchAsync("-t", "200", "-n");
        await DeltaAsync(push, source.DataDirectory, "delta 2", Summaries, null);

        // Switched off: the page scan, though the summaries could tell.
        await source.ExecuteAsync("UPDATE trunc SET id = id + 1 WHERE id <= 500");
        await DeltaAsync(new Dictionary<string, string?>(push) { ["PGARCHIVE_DELTA_BLOCK_SOURCE"] = "scan" }, source.DataDirectory, "delta (scan asked)", Scan,
            "PGARCHIVE_DELTA_BLOCK_SOURCE is scan");

        // Fallbacks: summarize_wal off, then on again with the summaries back to the base removed.
        await source.ExecuteAsync("ALTER SYSTEM SET summarize_wal = off");
        await source.ExecuteAsync("SELECT pg_reload_conf()");
        await source.PgbenchAsync("-t", "100", "-n");
        await DeltaAsync(push, source.DataDirectory, "delta 3 (summarize_wal off)", Scan, "summarize_wal is off");
        await source.ExecuteAsync("ALTER SYSTEM SET summarize_wal = on");
        await source.ExecuteAsync("SELECT pg_reload_conf()");
        await source.ExecuteAsync("UPDATE recreated SET id = id + 1 WHERE id % 50 = 0");
        await source.ExecuteAsync("CHECKPOINT");
        // Once the summarizer has caught up (it resumes where it stopped while WAL is at hand), its summaries are removed.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!await source.ScalarAsync<bool>("SELECT summarized_lsn >= (SELECT redo_lsn FROM pg_control_checkpoint()) FROM pg_get_wal_summarizer_state()"))
        {
            Assert.True(DateTime.UtcNow < deadline, "the WAL summarizer did not catch up");
            await Task.Delay(100, TestContext.Current.CancellationToken);
        }

        foreach (var summary in Directory.GetFiles(Path.Combine(source.DataDirectory, "pg_wal", "summaries"), "*.summary"))
        {
            File.Delete(summary); // as wal_summary_keep_time would
        }

        await source.PgbenchAsync("-t", "100", "-n");
        var last = await DeltaAsync(push, source.DataDirectory, "delta 4 (summaries removed)", Scan, "do not cover");

        await RestoreExactlyAsync(source, settings, last, 17);
    }

    [Fact]
    public async Task Below_17_deltas_read_only_the_blocks_the_wal_block_maps_name_and_restore_exactly()
    {
        var settings = _workspace.FileArchiveSettings;
        settings["WALG_DELTA_MAX_STEPS"] = "6";
        settings["WALG_USE_WAL_DELTA"] = "true";
        await using var source = await PostgresCluster.StartAsync(_workspace.PathFor("source"), $"\"{cli.Executable}\" wal-push \"%p\"", settings);
        var push = PitrScenario.Merge(settings, source.LibpqEnvironment);
        await source.PgbenchAsync("-i", "-s", "2", "-q");
        await source.ExecuteAsync("CREATE TABLE trunc AS SELECT g AS id FROM generate_series(1, 40000) g");
        await source.ExecuteAsync("CREATE TABLE recreated AS SELECT g AS id FROM generate_series(1, 20000) g");
        (await cli.RunAsync(push, "backup-push", source.DataDirectory)).EnsureSuccess("full");

        await ChangeEverythingAsync(source);
        await DeltaAsync(push, source.DataDirectory, "delta 1", BlockMaps, null);
        await source.ExecuteAsync("INSERT INTO trunc SELECT g FROM generate_series(50001, 60000) g");
        await ExecuteInAsync(source, "added", "UPDATE t SET v = v * 2 WHERE v % 10 = 0");
        await source.PgbenchAsync("-t", "200", "-n");
        await DeltaAsync(push, source.DataDirectory, "delta 2", BlockMaps, null);
        await source.PgbenchAsync("-t", "100", "-n");
        var last = await DeltaAsync(new Dictionary<string, string?>(push) { ["WALG_USE_WAL_DELTA"] = "false" }, source.DataDirectory, "delta 3 (maps off)", Scan,
            "WALG_USE_WAL_DELTA is off");

        await RestoreExactlyAsync(source, settings, last, 15);
    }

    /// <summary>1% of the rows, a truncation by VACUUM, a relation dropped and recreated under its name, VACUUM FULL, a new database.</summary>
    private static async Task ChangeEverythingAsync(PostgresCluster source)
    {
        await source.ExecuteAsync("UPDATE pgbench_accounts SET abalance = abalance + 7 WHERE aid <= 2000");
        await source.ExecuteAsync("DELETE FROM trunc WHERE id > 10000");
        await source.ExecuteAsync("VACUUM trunc");
        await source.ExecuteAsync("DROP TABLE recreated");
        await source.ExecuteAsync("CREATE TABLE recreated AS SELECT g AS id FROM generate_series(1, 3000) g");
        await source.ExecuteAsync("VACUUM FULL pgbench_branches");
        await source.ExecuteAsync("CREATE DATABASE added");
        await ExecuteInAsync(source, "added", "CREATE TABLE t AS SELECT g AS v FROM generate_series(1, 1000) g");
    }

    /// <summary>PITR of <paramref name="last"/> to a time after the last changes: exact rows in both databases, amcheck clean.</summary>
    private async Task RestoreExactlyAsync(PostgresCluster source, Dictionary<string, string?> settings, string last, int major)
    {
        var expected = await source.ScalarAsync<string>(State);
        var expectedAdded = await ScalarInAsync(source, "added", NewDatabaseState);
        await Task.Delay(1100, TestContext.Current.CancellationToken);
        var target = (await source.ScalarAsync<DateTime>("SELECT clock_timestamp()")).ToString("yyyy-MM-dd HH:mm:ss.ffffff", CultureInfo.InvariantCulture) + "+00";
        await Task.Delay(1100, TestContext.Current.CancellationToken);
        await source.ExecuteAsync("DELETE FROM trunc"); // after the target: must not be restored
        await source.SwitchWalAndWaitForArchiveAsync();
        await source.StopAndDeleteAsync();

        var directory = _workspace.CreateDirectory("restored");
        (await cli.RunAsync(settings, "backup-fetch", Path.Combine(directory, "data"), last, "--recovery-target-time", target, "--recovery-target-action", "promote"))
            .EnsureSuccess("backup-fetch");
        await using var restored = await PostgresCluster.StartAsync(directory, "true", _workspace.FileArchiveSettings, major: major);
        await restored.WaitUntilPromotedAsync(TimeSpan.FromMinutes(3));
        Assert.Equal(expected, await restored.ScalarAsync<string>(State));
        Assert.Equal(expectedAdded, await ScalarInAsync(restored, "added", NewDatabaseState));
        foreach (var database in new[] { "postgres", "added" })
        {
            await ExecuteInAsync(restored, database, "CREATE EXTENSION IF NOT EXISTS amcheck");
            await ExecuteInAsync(restored, database,
                "SELECT bt_index_check(c.oid, true) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam WHERE a.amname = 'btree'");
        }
    }

    /// <summary>Takes a delta and checks from its log which block source it used and that it read no block it did not store.</summary>
    private async Task<string> DeltaAsync(IReadOnlyDictionary<string, string?> push, string dataDirectory, string label, string source, string? expectedReason)
    {
        var result = (await cli.RunAsync(push, "backup-push", dataDirectory)).EnsureSuccess(label);
        var name = result.Stdout.Trim();
        Assert.Matches("^base_[0-9A-F]{24}_D_[0-9A-F]{24}$", name);
        var read = BlocksRead().Match(result.Stderr);
        Assert.True(read.Success, $"{label}: no blocks-read line in:\n{result.Stderr}");
        var (pages, blocksRead, fileBlocks) = (long.Parse(read.Groups["pages"].Value, CultureInfo.InvariantCulture),
            long.Parse(read.Groups["read"].Value, CultureInfo.InvariantCulture), long.Parse(read.Groups["blocks"].Value, CultureInfo.InvariantCulture));
        if (source != Scan)
        {
            Assert.Contains(source == Summaries ? "reading only the blocks PostgreSQL's WAL summaries name" : "reading only the blocks the WAL block maps name",
                result.Stderr, StringComparison.Ordinal);
            Assert.Equal(source, read.Groups["source"].Value);
            Assert.Equal(pages, blocksRead); // every block read is a block stored: only what the summaries named
            Assert.True(blocksRead * 4 < fileBlocks, $"{label}: read {blocksRead} of {fileBlocks} blocks");
        }
        else
        {
            Assert.True(result.Stderr.Contains("scanning every page of the relation files for changes, not reading WAL summaries: ", StringComparison.Ordinal) &&
                result.Stderr.Contains(expectedReason!, StringComparison.Ordinal), $"{label}: expected the page scan because of '{expectedReason}':\n{result.Stderr}");
            Assert.Equal(Scan, read.Groups["source"].Value);
            Assert.Equal(fileBlocks + pages, blocksRead); // every page scanned, then the changed ones read again into the increment
        }

        return name;
    }

    private static async Task ExecuteInAsync(PostgresCluster cluster, string database, string sql)
    {
        await using var connection = await cluster.ConnectAsync(database);
        await using var command = new Npgsql.NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(TestContext.Current.CancellationToken);
    }

    private static async Task<string> ScalarInAsync(PostgresCluster cluster, string database, string sql)
    {
        await using var connection = await cluster.ConnectAsync(database);
        await using var command = new Npgsql.NpgsqlCommand(sql, connection);
        return (string)(await command.ExecuteScalarAsync(TestContext.Current.CancellationToken))!;
    }

    [GeneratedRegex(@"\((?<source>WAL summaries|WAL block maps|page scan)\): \d+ relation files stored as increments of (?<pages>\d+) pages, (?<read>\d+) of their (?<blocks>\d+) blocks read")]
    private static partial Regex BlocksRead();
}
