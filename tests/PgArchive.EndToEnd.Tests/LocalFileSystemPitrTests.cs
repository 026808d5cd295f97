using System.Globalization;
using System.Text.RegularExpressions;

namespace PgArchive.EndToEnd;

/// <summary>The walking skeleton end to end: real PostgreSQL 15, the pgarchive CLI, the local-filesystem archive.</summary>
public sealed partial class LocalFileSystemPitrTests(PgArchiveCli cli) : IAsyncLifetime
{
    private readonly ArchiveWorkspace _workspace = new();

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync() => _workspace.DisposeAsync();

    private string ArchiveCommand => $"\"{cli.Executable}\" wal-push \"%p\"";

    [Fact]
    public async Task Pitr_restore_to_a_time_keeps_the_rows_written_before_it_and_none_after()
    {
        var report = await PitrScenario.RunAsync(cli, _workspace, _workspace.FileArchiveSettings);

        Assert.Equal(report.PgbenchAccounts, report.RestoredAccounts);
        Assert.Equal([1, 2, 3], report.MarkersRestored);
        Assert.Matches("^base_[0-9A-F]{24}$", report.BackupName);
        Assert.True(report.SegmentsFetched >= 2, $"recovery should replay archived segments, fetched {report.SegmentsFetched}");
    }

    [Fact]
    public async Task Restore_of_latest_with_recovery_replays_to_the_end_of_the_archive()
    {
        var settings = _workspace.FileArchiveSettings;
        await using var source = await PostgresCluster.StartAsync(_workspace.PathFor("source"), ArchiveCommand, settings);
        await source.PgbenchAsync("-i", "-s", "1", "-q");
        var pushSettings = PitrScenario.Merge(settings, source.LibpqEnvironment);
        pushSettings["WALG_TAR_SIZE_THRESHOLD"] = (4 << 20).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var name = (await cli.RunAsync(pushSettings, "backup-push", source.DataDirectory)).EnsureSuccess("backup-push").Stdout.Trim();
        var parts = Directory.GetFiles(Path.Combine(_workspace.ArchiveDirectory, "basebackups_005", name, "tar_partitions"), "part_*.tar.lz4");
        Assert.True(parts.Length >= 5, $"a 4 MiB threshold should cut a ~23 MB data directory into several partitions, got {parts.Length}");
        await source.ExecuteAsync("CREATE TABLE after_backup AS SELECT g AS id FROM generate_series(1, 5000) g");
        await source.SwitchWalAndWaitForArchiveAsync();
        await source.StopAndDeleteAsync();

        var restoreDirectory = _workspace.CreateDirectory("restored");
        (await cli.RunAsync(settings, "backup-fetch", Path.Combine(restoreDirectory, "data"), "LATEST", "--recovery")).EnsureSuccess("backup-fetch");
        Assert.True(File.Exists(Path.Combine(restoreDirectory, "data", "recovery.signal")));
        Assert.True(Directory.Exists(Path.Combine(restoreDirectory, "data", "pg_wal", "archive_status")));

        await using var restored = await PostgresCluster.StartAsync(restoreDirectory, ArchiveCommand, settings);
        await restored.WaitUntilPromotedAsync(TimeSpan.FromMinutes(3));
        Assert.Equal(5000L, await restored.ScalarAsync<long>("SELECT count(*) FROM after_backup"));
        Assert.Equal(100_000L, await restored.ScalarAsync<long>("SELECT count(*) FROM pgbench_accounts"));
    }

    [Fact]
    public async Task Backup_taken_while_pgbench_writes_restores_to_the_same_rows()
    {
        var settings = _workspace.FileArchiveSettings;
        await using var source = await PostgresCluster.StartAsync(_workspace.PathFor("source"), ArchiveCommand, settings);
        await source.PgbenchAsync("-i", "-s", "2", "-q");
        // A table pgbench leaves alone, so that the checkpoint of the backup's start does not bring it back into the cache.
        await source.ExecuteAsync("CREATE TABLE cold AS SELECT g AS id, md5(g::text) AS filler FROM generate_series(1, 100000) AS g; CHECKPOINT");
        var load = source.PgbenchAsync("-c", "2", "-T", "12", "-n");
        await Task.Delay(2000, TestContext.Current.CancellationToken);
        // Out of the page cache, so that backup-push reads relation files with O_DIRECT while pgbench writes others.
        (await ProcessRunner.RunAsync("sh", ["-c", "sync && find \"$0\" -type f -size +1M ! -path '*/pg_wal/*' -exec dd if={} iflag=nocache count=0 status=none ';'", source.DataDirectory],
            asOsUser: false)).EnsureSuccess("drop the data files from the page cache");
        var direct = PitrScenario.Merge(settings, source.LibpqEnvironment);
        direct["PGARCHIVE_DIRECT_READS"] = "true";
        direct["WALG_UPLOAD_DISK_CONCURRENCY"] = "2";
        var push = await cli.RunAsync(direct, "backup-push", source.DataDirectory);
        await load;
        push.EnsureSuccess("backup-push under load");
        var readDirectly = DirectReadLine().Match(push.Stderr);
        Assert.True(readDirectly.Success && long.Parse(readDirectly.Groups[1].Value, CultureInfo.InvariantCulture) >= 1 << 20, push.Stderr);
        var expected = await source.ScalarAsync<string>(
            "SELECT (SELECT count(*) FROM pgbench_history) || '/' || (SELECT sum(abalance) FROM pgbench_accounts) || '/' || (SELECT sum(tbalance) FROM pgbench_tellers)");
        await source.SwitchWalAndWaitForArchiveAsync();
        await source.StopAndDeleteAsync();

        var restoreDirectory = _workspace.CreateDirectory("restored");
        (await cli.RunAsync(settings, "backup-fetch", Path.Combine(restoreDirectory, "data"), "LATEST", "--recovery")).EnsureSuccess("backup-fetch");
        await using var restored = await PostgresCluster.StartAsync(restoreDirectory, ArchiveCommand, settings);
        await restored.WaitUntilPromotedAsync(TimeSpan.FromMinutes(3));

        var actual = await restored.ScalarAsync<string>(
            "SELECT (SELECT count(*) FROM pgbench_history) || '/' || (SELECT sum(abalance) FROM pgbench_accounts) || '/' || (SELECT sum(tbalance) FROM pgbench_tellers)");
        Assert.Equal(expected, actual);
        Assert.NotEqual("0/0/0", actual);
        Assert.Equal(100_000L, await restored.ScalarAsync<long>("SELECT count(*) FROM cold WHERE filler = md5(id::text)"));
        Assert.Equal(0L, await restored.ScalarAsync<long>("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'walsender'"));
    }

    [Fact]
    public async Task Backup_push_returns_only_once_the_wal_it_needs_is_archived_even_by_a_slow_archive_command_but_not_the_history_file()
    {
        // The backup history file (.backup) is not needed to restore: like pgBackRest's archive check, backup-push waits
        // for the segments only, not for one more archive_command run. Here the history file takes far longer to archive.
        var settings = _workspace.FileArchiveSettings;
        await using var source = await PostgresCluster.StartAsync(_workspace.PathFor("source"),
            $"case %f in *.backup) sleep 4 ;; *) sleep 1 ;; esac && {ArchiveCommand}", settings);
        await source.ExecuteAsync("CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 1000) g");

        var name = (await cli.RunAsync(PitrScenario.Merge(settings, source.LibpqEnvironment), "backup-push", source.DataDirectory))
            .EnsureSuccess("backup-push").Stdout.Trim();

        await AssertArchivedThroughStopAsync(name, historyFile: false);
    }

    [Fact]
    public async Task Backup_push_by_a_role_that_cannot_read_archive_status_leaves_the_archive_wait_to_PostgreSQL()
    {
        var settings = _workspace.FileArchiveSettings;
        await using var source = await PostgresCluster.StartAsync(_workspace.PathFor("source"), $"sleep 1 && {ArchiveCommand}", settings);
        await source.ExecuteAsync("""
            CREATE ROLE backup_operator LOGIN;
            GRANT pg_read_all_settings TO backup_operator;
            GRANT EXECUTE ON FUNCTION pg_backup_start(text, boolean) TO backup_operator;
            GRANT EXECUTE ON FUNCTION pg_backup_stop(boolean) TO backup_operator;
            CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 1000) g;
            """);
        Assert.False(await source.ScalarAsync<bool>("SELECT has_function_privilege('backup_operator', 'pg_ls_archive_statusdir()', 'EXECUTE')"));
        var push = PitrScenario.Merge(settings, source.LibpqEnvironment);
        push["PGUSER"] = "backup_operator";

        var name = (await cli.RunAsync(push, "backup-push", source.DataDirectory)).EnsureSuccess("backup-push as backup_operator").Stdout.Trim();

        await AssertArchivedThroughStopAsync(name, historyFile: true);
    }

    /// <summary>
    /// Looked at the moment backup-push has returned, with nothing waiting for the archiver in between: every WAL
    /// segment from the backup's start to its stop is in the archive, and the backup history file is or is not.
    /// </summary>
    private async Task AssertArchivedThroughStopAsync(string name, bool historyFile)
    {
        var archived = Directory.GetFiles(Path.Combine(_workspace.ArchiveDirectory, "wal_005")).Select(Path.GetFileName).ToList();
        using var sentinel = System.Text.Json.JsonDocument.Parse(
            await File.ReadAllTextAsync(Path.Combine(_workspace.ArchiveDirectory, "basebackups_005", name + "_backup_stop_sentinel.json"), TestContext.Current.CancellationToken));
        var lastNeeded = (sentinel.RootElement.GetProperty("FinishLSN").GetUInt64() - 1) / (16UL << 20);
        var first = Convert.ToUInt64(name[13..21], 16) << 8 | Convert.ToUInt64(name[21..], 16);
        Assert.True(lastNeeded >= first, $"the stop segment {lastNeeded:X} should not precede the start segment {name[5..]}");
        for (var segment = first; segment <= lastNeeded; segment++)
        {
            var file = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{name[5..13]}{segment >> 8:X8}{segment & 0xFF:X8}");
            Assert.Contains(archived, a => a!.StartsWith(file + ".", StringComparison.Ordinal));
        }

        Assert.Equal(historyFile, archived.Any(a => a!.StartsWith(name[5..] + ".", StringComparison.Ordinal) && a.Contains(".backup", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Tablespace_outside_pgdata_survives_the_round_trip()
    {
        var settings = _workspace.FileArchiveSettings;
        var tablespace = _workspace.CreateDirectory("tablespace");
        await using var source = await PostgresCluster.StartAsync(_workspace.PathFor("source"), ArchiveCommand, settings);
        await source.ExecuteAsync($"CREATE TABLESPACE outside LOCATION '{tablespace}'");
        await source.ExecuteAsync("CREATE TABLE far (id int PRIMARY KEY, payload text) TABLESPACE outside");
        await source.ExecuteAsync("INSERT INTO far SELECT g, md5(g::text) FROM generate_series(1, 20000) g");
        (await cli.RunAsync(PitrScenario.Merge(settings, source.LibpqEnvironment), "backup-push", source.DataDirectory)).EnsureSuccess("backup-push");
        await source.ExecuteAsync("INSERT INTO far SELECT g, 'late' FROM generate_series(20001, 20500) g");
        await source.SwitchWalAndWaitForArchiveAsync();
        await source.StopAndDeleteAsync();
        Directory.Delete(tablespace, recursive: true);

        var restoreDirectory = _workspace.CreateDirectory("restored");
        (await cli.RunAsync(settings, "backup-fetch", Path.Combine(restoreDirectory, "data"), "LATEST", "--recovery")).EnsureSuccess("backup-fetch");
        var link = new DirectoryInfo(Directory.GetFileSystemEntries(Path.Combine(restoreDirectory, "data", "pg_tblspc")).Single());
        Assert.Equal(tablespace, link.LinkTarget);

        await using var restored = await PostgresCluster.StartAsync(restoreDirectory, ArchiveCommand, settings);
        await restored.WaitUntilPromotedAsync(TimeSpan.FromMinutes(3));
        Assert.Equal(20500L, await restored.ScalarAsync<long>("SELECT count(*) FROM far"));
        Assert.Equal(tablespace, await restored.ScalarAsync<string>("SELECT pg_tablespace_location(oid) FROM pg_tablespace WHERE spcname = 'outside'"));
    }

    [Fact]
    public async Task Wal_push_of_an_already_archived_segment_succeeds_only_for_identical_content()
    {
        var settings = _workspace.FileArchiveSettings;
        var segment = _workspace.PathFor("000000010000000000000042");
        await File.WriteAllBytesAsync(segment, PgArchive.Support.WalSegments.Filled("000000010000000000000042", 7), TestContext.Current.CancellationToken);
        ProcessRunner.GiveToOsUser(segment);

        var first = await cli.RunAsync(settings, "wal-push", segment);
        var again = await cli.RunAsync(settings, "wal-push", segment);
        await File.WriteAllBytesAsync(segment, PgArchive.Support.WalSegments.Filled("000000010000000000000042", 8), TestContext.Current.CancellationToken);
        var different = await cli.RunAsync(settings, "wal-push", segment);

        Assert.Equal(0, first.ExitCode);
        Assert.Equal(0, again.ExitCode);
        Assert.Equal(1, different.ExitCode);
        Assert.Contains("different content", different.Stderr, StringComparison.Ordinal);

        var fetched = _workspace.PathFor("fetched");
        Assert.Equal(0, (await cli.RunAsync(settings, "wal-fetch", "000000010000000000000042", fetched)).ExitCode);
        Assert.Equal(PgArchive.Support.WalSegments.Filled("000000010000000000000042", 7), await File.ReadAllBytesAsync(fetched, TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Wal_fetch_of_a_missing_file_exits_74_with_one_short_line()
    {
        var result = await cli.RunAsync(_workspace.FileArchiveSettings, "wal-fetch", "00000002.history", _workspace.PathFor("x"));

        Assert.Equal(74, result.ExitCode);
        Assert.Equal("00000002.history is not in the archive.", result.Stderr.Trim());
        Assert.False(File.Exists(_workspace.PathFor("x")));
    }

    [Fact]
    public async Task Backup_list_shows_backups_as_WalG_does()
    {
        var settings = _workspace.FileArchiveSettings;
        await using var source = await PostgresCluster.StartAsync(_workspace.PathFor("source"), ArchiveCommand, settings);
        var name = (await cli.RunAsync(PitrScenario.Merge(settings, source.LibpqEnvironment), "backup-push", source.DataDirectory)).EnsureSuccess("backup-push").Stdout.Trim();

        var plain = (await cli.RunAsync(settings, "backup-list")).EnsureSuccess("backup-list").Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var json = (await cli.RunAsync(settings, "backup-list", "--json")).EnsureSuccess("backup-list --json").Stdout;

        Assert.Matches(@"^backup_name\s+modified\s+wal_file_name\s+storage_name$", plain[0]);
        Assert.Matches($@"^{name} \d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\dZ {name[5..]} default$", plain[1]);
        using var document = System.Text.Json.JsonDocument.Parse(json);
        Assert.Equal(name, document.RootElement[0].GetProperty("backup_name").GetString());
        Assert.Equal(name[5..], document.RootElement[0].GetProperty("wal_file_name").GetString());
        var sentinel = Path.Combine(_workspace.ArchiveDirectory, "basebackups_005", name + "_backup_stop_sentinel.json");
        Assert.True(File.Exists(sentinel));
        foreach (var part in new[] { "part_001.tar.lz4", "pg_control.tar.lz4", "backup_label.tar.lz4" })
        {
            Assert.True(File.Exists(Path.Combine(_workspace.ArchiveDirectory, "basebackups_005", name, "tar_partitions", part)), part);
        }
    }

    [GeneratedRegex(@"Read (\d+) of the \d+ file bytes from the disk with O_DIRECT")]
    private static partial Regex DirectReadLine();
}
