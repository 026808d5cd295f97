using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace PgArchive.EndToEnd;

/// <summary>
/// Real deployments on PostgreSQL 15: a standby built with <c>backup-fetch --standby</c> follows the primary from the
/// archive alone, a second one streams (<c>--primary-conninfo</c>) and archives too (archive_mode = always); a backup
/// taken on each standby restores to a point in time; the primary stops, the standby is promoted and archives timeline 2 (its history file, the old
/// timeline's last segment as .partial) while the archive-only standby follows it; the old primary, started again by
/// mistake, archives its late segments of timeline 1 beside them and never over them; PITR restores instants on both
/// timelines with exactly the rows written before each.
/// </summary>
public sealed class StandbyAndFailoverTests(PgArchiveCli cli) : IAsyncLifetime
{
    private const string Rows = "SELECT coalesce(string_agg(id::text, ',' ORDER BY id), '') FROM rows";
    private readonly ArchiveWorkspace _workspace = new();

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync() => _workspace.DisposeAsync();

    private string ArchiveCommand => $"\"{cli.Executable}\" wal-push \"%p\"";

    private Dictionary<string, string?> Settings => _workspace.FileArchiveSettings;

    private string ArchivedWal => Path.Combine(_workspace.ArchiveDirectory, "wal_005");

    [Fact]
    public async Task Standbys_follow_from_the_archive_a_standby_backup_restores_and_archiving_and_pitr_survive_failover()
    {
        // A primary archiving every 2 s of activity; a full backup on timeline 1.
        Phase("primary");
        var primary = await PostgresCluster.StartAsync(_workspace.PathFor("primary"), ArchiveCommand, Settings, "archive_timeout = '2s'");
        await using var primaryScope = primary;
        await primary.ExecuteAsync("CREATE TABLE rows (id int PRIMARY KEY); INSERT INTO rows VALUES (1)");
        var onTimeline1 = (await cli.RunAsync(PitrScenario.Merge(Settings, primary.LibpqEnvironment), "backup-push", primary.DataDirectory))
            .EnsureSuccess("backup-push on the primary").Stdout.Trim();

        Phase("archive standby");
        // A standby from the archive alone: backup-fetch --standby, no primary_conninfo.
        var fromArchive = await StartStandbyAsync("from-archive", primaryConnInfo: null);
        await using var fromArchiveScope = fromArchive;
        Assert.True(File.Exists(Path.Combine(fromArchive.DataDirectory, "standby.signal")));
        Assert.True(await fromArchive.ScalarAsync<bool>("SELECT pg_is_in_recovery()"));
        await primary.ExecuteAsync("INSERT INTO rows VALUES (2)");
        var archiveLag = await WaitForRowsAsync(fromArchive, "1,2", TimeSpan.FromSeconds(60));
        Assert.True(archiveLag < TimeSpan.FromSeconds(15), $"row 2 reached the archive standby after {archiveLag.TotalSeconds:F1} s (archive_timeout 2 s)");
        Assert.Contains("restored log file", fromArchive.LogTail(200), StringComparison.Ordinal);
        // From here on segments end when the test switches them: fewer segments, faster restores.
        await primary.ExecuteAsync("ALTER SYSTEM SET archive_timeout = 0");
        await primary.ExecuteAsync("SELECT pg_reload_conf()");

        Phase("streaming standby");
        // A standby that streams once it has replayed the archive, and archives what it receives (archive_mode = always).
        var streaming = await StartStandbyAsync("streaming", $"host=127.0.0.1 port={primary.Port} user=postgres application_name=streaming", "archive_mode = always");
        await using var streamingScope = streaming;
        await WaitForAsync(async () => await primary.ScalarAsync<long>(
            "SELECT count(*) FROM pg_stat_replication WHERE application_name = 'streaming' AND state = 'streaming'") == 1, TimeSpan.FromSeconds(60), "streaming");
        await primary.ExecuteAsync("INSERT INTO rows VALUES (3)");
        var streamLag = await WaitForRowsAsync(streaming, "1,2,3", TimeSpan.FromSeconds(30));
        Assert.True(streamLag < TimeSpan.FromSeconds(5), $"row 3 reached the streaming standby after {streamLag.TotalSeconds:F1} s");

        Phase("backup on the archive standby");
        // A standby's backup starts at its restartpoint, at the last checkpoint it replayed: the primary checkpoints and
        // ends its segment, which the archive standby replays. There archive_mode = on: the primary's archive is the source.
        await primary.ExecuteAsync("CHECKPOINT");
        await primary.SwitchWalAndWaitForArchiveAsync();
        await WaitForRowsAsync(fromArchive, "1,2,3", TimeSpan.FromSeconds(60));
        var onArchiveStandby = (await cli.RunAsync(PitrScenario.Merge(Settings, fromArchive.LibpqEnvironment), "backup-push", fromArchive.DataDirectory))
            .EnsureSuccess("backup-push on the archive standby").Stdout.Trim();

        Phase("refusal");
        // With no archived WAL to rely on (another, empty archive), it is refused before anything is written.
        var empty = _workspace.CreateDirectory("empty-archive");
        var refused = await cli.RunAsync(PitrScenario.Merge(fromArchive.LibpqEnvironment, new Dictionary<string, string?> { ["WALG_FILE_PREFIX"] = empty }),
            "backup-push", fromArchive.DataDirectory);
        Assert.Equal(1, refused.ExitCode);
        Assert.Equal(
            "pgarchive: error: The server is a standby (archive_mode = on) and the archive holds no WAL of its timeline 1: a backup taken on a standby needs " +
            "the WAL it replays in the archive; archive the primary's WAL into this archive (archive_command = 'pgarchive wal-push %p' with these settings), " +
            "or set archive_mode = always and that archive_command on the standby.", refused.Stderr.Trim());
        Assert.Empty(Directory.EnumerateFileSystemEntries(empty));

        Phase("backup on the streaming standby");
        // The standby cannot end a segment: backup-push waits until the stop segment is in the archive, archived by the
        // primary or by this standby (archive_mode = always) once the primary ends it (here when the test switches it;
        // archive_timeout would too).
        await primary.ExecuteAsync("CHECKPOINT");
        var pushing = cli.RunAsync(PitrScenario.Merge(Settings, streaming.LibpqEnvironment), "backup-push", streaming.DataDirectory);
        var switches = 0;
        while (await Task.WhenAny(pushing, Task.Delay(2000, TestContext.Current.CancellationToken)) != pushing)
        {
            await primary.ExecuteAsync("SELECT pg_switch_wal() FROM (SELECT txid_current()) AS written");
            switches++;
        }

        var onStreamingStandby = (await pushing).EnsureSuccess("backup-push on the streaming standby").Stdout.Trim();
        Assert.True(switches >= 1, "backup-push on the standby returned before the primary finished its stop segment");
        Assert.All(new[] { onArchiveStandby, onStreamingStandby }, b => Assert.StartsWith("base_00000001", b, StringComparison.Ordinal));
        Assert.Equal(4, (await cli.RunAsync(Settings, "backup-list")).EnsureSuccess("backup-list").Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);

        Phase("rows 4-6");
        await primary.ExecuteAsync("INSERT INTO rows VALUES (4)");
        await primary.ExecuteAsync("SELECT pg_create_restore_point('after_standby_backup')");
        await primary.ExecuteAsync("INSERT INTO rows VALUES (5)");
        var beforeSwitch = await Instant(primary);
        await primary.ExecuteAsync("INSERT INTO rows VALUES (6)");
        await primary.SwitchWalAndWaitForArchiveAsync();
        await WaitForRowsAsync(streaming, "1,2,3,4,5,6", TimeSpan.FromSeconds(30));

        Phase("failover");
        // Failover: the primary stops, the streaming standby is promoted and archives timeline 2.
        await primary.StopAsync();
        await streaming.ExecuteAsync("SELECT pg_promote()");
        await streaming.WaitUntilPromotedAsync(TimeSpan.FromMinutes(1));
        await WaitForAsync(() => Task.FromResult(Directory.GetFiles(ArchivedWal, "00000002.history*").Length == 1), TimeSpan.FromSeconds(30), "00000002.history archived");
        await streaming.ExecuteAsync("INSERT INTO rows VALUES (7)");
        var afterSwitch = await Instant(streaming);
        await streaming.ExecuteAsync("INSERT INTO rows VALUES (8)");
        await streaming.SwitchWalAndWaitForArchiveAsync();
        Assert.Contains(Directory.GetFiles(ArchivedWal), f => Path.GetFileName(f).StartsWith("000000020000", StringComparison.Ordinal));
        var partial = Assert.Single(Directory.GetFiles(ArchivedWal, "00000001*.partial*"));
        var forkSegment = Path.GetFileName(partial)[..24];

        Phase("archive standby on timeline 2");
        // The archive-only standby follows the new timeline from the archive (recovery_target_timeline = latest).
        await WaitForRowsAsync(fromArchive, "1,2,3,4,5,6,7,8", TimeSpan.FromSeconds(60));

        Phase("wal-show, wal-verify");
        // wal-show shows the switch; wal-verify timeline finds the promoted server on the archive's highest timeline.
        using (var show = JsonDocument.Parse((await cli.RunAsync(Settings, "wal-show", "--detailed-json")).EnsureSuccess("wal-show").Stdout))
        {
            var timelines = show.RootElement.EnumerateArray().ToDictionary(t => t.GetProperty("id").GetInt32());
            Assert.Equal([1, 2], timelines.Keys.Order());
            Assert.Equal(1, timelines[2].GetProperty("parent_id").GetInt32());
            var switchPoint = timelines[2].GetProperty("switch_point_lsn").GetUInt64();
            Assert.Equal(forkSegment[8..], Segment(switchPoint));
        }

        var verify = await cli.RunAsync(PitrScenario.Merge(Settings, streaming.LibpqEnvironment), "wal-verify", "timeline", "--json");
        verify.EnsureSuccess("wal-verify timeline");
        using (var report = JsonDocument.Parse(verify.Stdout))
        {
            var timeline = report.RootElement.GetProperty("timeline");
            Assert.Equal("OK", timeline.GetProperty("status").GetString());
            Assert.Equal(2, timeline.GetProperty("details").GetProperty("current_timeline_id").GetInt32());
            Assert.Equal(2, timeline.GetProperty("details").GetProperty("highest_storage_timeline_id").GetInt32());
        }

        Phase("old primary");
        // The old primary comes back by mistake and archives late segments on timeline 1: kept beside timeline 2,
        // and what the new primary archived is never overwritten.
        var partialBytes = await File.ReadAllBytesAsync(partial, TestContext.Current.CancellationToken);
        await primary.StartAsync();
        await primary.ExecuteAsync("INSERT INTO rows VALUES (99)");
        await primary.SwitchWalAndWaitForArchiveAsync();
        await primary.StopAsync();
        var lateSegment = Assert.Single(Directory.GetFiles(ArchivedWal, forkSegment + ".*"), f => !f.Contains(".partial", StringComparison.Ordinal));
        Assert.Equal(partialBytes, await File.ReadAllBytesAsync(partial, TestContext.Current.CancellationToken));
        var fetchedLate = _workspace.PathFor("late-segment");
        (await cli.RunAsync(Settings, "wal-fetch", forkSegment, fetchedLate)).EnsureSuccess("wal-fetch of the old primary's late segment");
        var diverging = _workspace.PathFor(forkSegment); // the new primary's copy of the fork segment, under the old primary's name
        (await cli.RunAsync(Settings, "wal-fetch", forkSegment + ".partial", diverging)).EnsureSuccess("wal-fetch of the .partial segment");
        var lateBytes = await File.ReadAllBytesAsync(lateSegment, TestContext.Current.CancellationToken);
        var conflict = await cli.RunAsync(Settings, "wal-push", diverging);
        Assert.Equal(1, conflict.ExitCode);
        Assert.Contains("different content", conflict.Stderr, StringComparison.Ordinal);
        Assert.Equal(lateBytes, await File.ReadAllBytesAsync(lateSegment, TestContext.Current.CancellationToken));

        Phase("restores");
        // PITR on both timelines, from the backup of timeline 1 and from the standby's backup.
        Assert.Equal("1,2,3,4", await RestoreAsync("standby-backup-at-name", onStreamingStandby, "--recovery-target-name", "after_standby_backup",
            "--recovery-target-action", "promote"));
        Assert.Equal("1,2,3,4,5", await RestoreAsync("standby-backup-before-switch", onArchiveStandby, "--recovery-target-time", beforeSwitch,
            "--recovery-target-action", "promote"));
        Assert.Equal("1,2,3,4,5,6,7", await RestoreAsync("after-switch", onTimeline1, "--recovery-target-time", afterSwitch, "--recovery-target-action", "promote",
            "--recovery-target-timeline", "latest"));
        Phase("done");
    }

    private readonly Stopwatch _clock = Stopwatch.StartNew();

    private void Phase(string name) =>
        TestContext.Current.TestOutputHelper?.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{_clock.Elapsed.TotalSeconds,6:F1} s: {name}"));

    /// <summary>backup-fetch LATEST --standby into a new directory, started as a cluster that retries the archive every second.</summary>
    private async Task<PostgresCluster> StartStandbyAsync(string name, string? primaryConnInfo, string extraConf = "")
    {
        var directory = _workspace.CreateDirectory(name);
        string[] args = ["backup-fetch", Path.Combine(directory, "data"), "LATEST", "--standby", .. primaryConnInfo is null ? [] : new[] { "--primary-conninfo", primaryConnInfo }];
        (await cli.RunAsync(Settings, args)).EnsureSuccess($"backup-fetch --standby ({name})");
        return await PostgresCluster.StartAsync(directory, ArchiveCommand, Settings, "wal_retrieve_retry_interval = '1s'\n" + extraConf);
    }

    /// <summary>Restores <paramref name="backup"/> as the options say into a cluster that does not archive; returns its rows.</summary>
    private async Task<string> RestoreAsync(string name, string backup, params string[] options)
    {
        var directory = _workspace.CreateDirectory(name);
        Phase("backup-fetch " + name);
        (await cli.RunAsync(Settings, ["backup-fetch", Path.Combine(directory, "data"), backup, .. options])).EnsureSuccess($"backup-fetch ({name})");
        if (name.StartsWith("standby-backup", StringComparison.Ordinal))
        {
            Assert.Contains("BACKUP FROM: standby", await File.ReadAllTextAsync(Path.Combine(directory, "data", "backup_label"), TestContext.Current.CancellationToken),
                StringComparison.Ordinal);
        }

        Phase("start");
        var restored = await PostgresCluster.StartAsync(directory, "true", Settings);
        await using (restored)
        {
            Phase("started");
            await restored.WaitUntilPromotedAsync(TimeSpan.FromMinutes(2));
            Phase("promoted");
            var rows = await restored.ScalarAsync<string>(Rows);
            await restored.StopAndDeleteAsync();
            Phase("stopped");
            return rows;
        }
    }

    private static async Task<string> Instant(PostgresCluster cluster)
    {
        await Task.Delay(300, TestContext.Current.CancellationToken);
        var at = await cluster.ScalarAsync<DateTime>("SELECT clock_timestamp()");
        await Task.Delay(300, TestContext.Current.CancellationToken);
        return at.ToString("yyyy-MM-dd HH:mm:ss.ffffff", CultureInfo.InvariantCulture) + "+00";
    }

    private static string Segment(ulong lsn) => string.Create(CultureInfo.InvariantCulture, $"{lsn >> 32:X8}{(lsn & 0xFFFFFFFF) >> 24:X8}");

    private static async Task<TimeSpan> WaitForRowsAsync(PostgresCluster standby, string rows, TimeSpan timeout)
    {
        var last = "";
        return await WaitForAsync(async () => (last = await standby.ScalarAsync<string>(Rows)) == rows, timeout,
            () => $"rows {rows} on the standby (it has {last}):\n{standby.LogTail()}");
    }

    private static Task<TimeSpan> WaitForAsync(Func<Task<bool>> condition, TimeSpan timeout, string what) => WaitForAsync(condition, timeout, () => what);

    private static async Task<TimeSpan> WaitForAsync(Func<Task<bool>> condition, TimeSpan timeout, Func<string> what)
    {
        var watch = Stopwatch.StartNew();
        while (!await condition())
        {
            if (watch.Elapsed > timeout)
            {
                throw new TimeoutException($"Waited {timeout.TotalSeconds} s for {what()}.");
            }

            await Task.Delay(100, TestContext.Current.CancellationToken);
        }

        return watch.Elapsed;
    }
}
