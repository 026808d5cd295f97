using System.Globalization;
using System.Text.Json;

namespace PgArchive.EndToEnd;

/// <summary>
/// Catalog, retention and verification against real PostgreSQL 15: backups on two timelines (a PITR restore
/// promotes to timeline 2), every delete mode in dry run and confirmed, wal-show, wal-verify, backup-verify,
/// and page checksum verification of a deliberately corrupted heap page.
/// </summary>
public sealed class CatalogRetentionTests(PgArchiveCli cli) : IAsyncLifetime
{
    private readonly ArchiveWorkspace _workspace = new();

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync() => _workspace.DisposeAsync();

    private string ArchiveCommand => $"\"{cli.Executable}\" wal-push \"%p\"";

    private Dictionary<string, string?> Settings => _workspace.FileArchiveSettings;

    private Task<ProcessResult> Run(params string[] args) => cli.RunAsync(Settings, args);

    private Task<ProcessResult> RunAgainst(PostgresCluster cluster, params string[] args) => cli.RunAsync(PitrScenario.Merge(Settings, cluster.LibpqEnvironment), args);

    /// <summary>Object keys under the archive, '/'-separated.</summary>
    private List<string> Keys(string prefix) =>
        [.. Directory.EnumerateFiles(_workspace.ArchiveDirectory, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(_workspace.ArchiveDirectory, f).Replace('\\', '/'))
            .Where(k => k.StartsWith(prefix, StringComparison.Ordinal) && !k.Contains(".pgarchive-tmp-", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)];

    /// <summary>Complete WAL segments of a timeline in the archive: 24-hex names.</summary>
    private List<string> Segments(uint timeline) =>
        [.. Keys("wal_005/").Select(k => k["wal_005/".Length..]).Where(n => n.Length >= 28 && n[24..] == ".lz4" && n.StartsWith(timeline.ToString("X8", CultureInfo.InvariantCulture), StringComparison.Ordinal))
            .Select(n => n[..24])];

    private List<string> BackupNames() =>
        [.. Keys("basebackups_005/").Where(k => k.EndsWith("_backup_stop_sentinel.json", StringComparison.Ordinal))
            .Select(k => k["basebackups_005/".Length..^"_backup_stop_sentinel.json".Length])];

    private static ulong SegmentNumber(string walFileName) =>
        (ulong.Parse(walFileName.AsSpan(8, 8), NumberStyles.HexNumber, CultureInfo.InvariantCulture) << 8) +
        ulong.Parse(walFileName.AsSpan(16, 8), NumberStyles.HexNumber, CultureInfo.InvariantCulture);

    private static string Lines(ProcessResult result) => result.Stdout + result.Stderr;

    private async Task<string> PushAsync(PostgresCluster cluster, params string[] extra)
    {
        var push = (await RunAgainst(cluster, ["backup-push", cluster.DataDirectory, .. extra])).EnsureSuccess("backup-push");
        return push.Stdout.Trim();
    }

    private static async Task AddRowsAsync(PostgresCluster cluster, int from, int to)
    {
        await cluster.ExecuteAsync($"INSERT INTO items SELECT g, md5(g::text) FROM generate_series({from}, {to}) g");
        await cluster.SwitchWalAndWaitForArchiveAsync();
    }

    [Fact]
    public async Task Retention_across_a_timeline_switch_keeps_exactly_what_kept_backups_need()
    {
        var token = TestContext.Current.CancellationToken;

        // Timeline 1: B1, rows 1-100, T, rows 101-200, B2.
        var source = await PostgresCluster.StartAsync(_workspace.PathFor("source"), ArchiveCommand, Settings);
        string b1, b2;
        string targetTime;
        await using (source)
        {
            await source.ExecuteAsync("CREATE TABLE items (id int PRIMARY KEY, payload text)");
            await source.SwitchWalAndWaitForArchiveAsync();
            b1 = await PushAsync(source);
            await AddRowsAsync(source, 1, 100);
            await Task.Delay(1100, token);
            targetTime = (await source.ScalarAsync<DateTime>("SELECT clock_timestamp()")).ToString("yyyy-MM-dd HH:mm:ss.ffffff", CultureInfo.InvariantCulture) + "+00";
            await Task.Delay(1100, token);
            await AddRowsAsync(source, 101, 200);
            b2 = await PushAsync(source);
            await AddRowsAsync(source, 201, 300);
            await source.StopAsync();
        }

        Directory.Delete(source.Directory, recursive: true);

        // PITR from B1 to T promotes timeline 2; B3 and B4 are taken on it.
        var restoredDirectory = _workspace.CreateDirectory("restored");
        (await Run("backup-fetch", Path.Combine(restoredDirectory, "data"), b1, "--recovery-target-time", targetTime, "--recovery-target-action", "promote"))
            .EnsureSuccess("backup-fetch B1");
        await using var restored = await PostgresCluster.StartAsync(restoredDirectory, ArchiveCommand, Settings);
        await restored.WaitUntilPromotedAsync(TimeSpan.FromMinutes(3));
        Assert.Equal(100L, await restored.ScalarAsync<long>("SELECT count(*) FROM items"));
        await AddRowsAsync(restored, 1001, 1100);
        var b3 = await PushAsync(restored);
        await AddRowsAsync(restored, 1101, 1200);
        await Task.Delay(1100, token);
        var secondTarget = (await restored.ScalarAsync<DateTime>("SELECT clock_timestamp()")).ToString("yyyy-MM-dd HH:mm:ss.ffffff", CultureInfo.InvariantCulture) + "+00";
        await Task.Delay(1100, token);
        await AddRowsAsync(restored, 1201, 1300);
        var b4 = await PushAsync(restored);
        await AddRowsAsync(restored, 1301, 1400);

        Assert.StartsWith("base_00000001", b1, StringComparison.Ordinal);
        Assert.StartsWith("base_00000001", b2, StringComparison.Ordinal);
        Assert.StartsWith("base_00000002", b3, StringComparison.Ordinal);
        Assert.StartsWith("base_00000002", b4, StringComparison.Ordinal);
        Assert.Equal([b1, b2, b3, b4], BackupNames());

        // Catalog: --detail --json, wal-show, wal-verify against the running timeline-2 server.
        var detail = (await Run("backup-list", "--detail", "--json")).EnsureSuccess("backup-list --detail --json");
        using (var document = JsonDocument.Parse(detail.Stdout))
        {
            Assert.Equal(4, document.RootElement.GetArrayLength());
            var first = document.RootElement[0];
            Assert.Equal(b1, first.GetProperty("backup_name").GetString());
            Assert.InRange(first.GetProperty("pg_version").GetInt32(), 150000, 159999);
            Assert.True(first.GetProperty("finish_lsn").GetUInt64() > first.GetProperty("start_lsn").GetUInt64());
            Assert.False(first.GetProperty("is_permanent").GetBoolean());
            Assert.True(first.GetProperty("compressed_size").GetInt64() > 0);
        }

        var plainDetail = (await Run("backup-list", "--detail")).EnsureSuccess("backup-list --detail").Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("backup_name", plainDetail[0], StringComparison.Ordinal);
        Assert.Contains("is_permanent", plainDetail[0], StringComparison.Ordinal);
        Assert.Equal(5, plainDetail.Length);

        var walShow = (await Run("wal-show", "--detailed-json")).EnsureSuccess("wal-show");
        using (var document = JsonDocument.Parse(walShow.Stdout))
        {
            var timelines = document.RootElement.EnumerateArray().ToList();
            Assert.Equal([1u, 2u], timelines.Select(t => t.GetProperty("id").GetUInt32()));
            Assert.Equal(1u, timelines[1].GetProperty("parent_id").GetUInt32());
            Assert.Equal("OK", timelines[1].GetProperty("status").GetString());
            Assert.Equal([b1, b3, b4], timelines[1].GetProperty("backups").EnumerateArray().Select(b => b.GetProperty("backup_name").GetString()));
        }

        Assert.Contains("| TLI | PARENT TLI |", (await Run("wal-show")).EnsureSuccess("wal-show").Stdout, StringComparison.Ordinal);
        var verify = await RunAgainst(restored, "wal-verify", "integrity", "timeline");
        Assert.True(verify.ExitCode == 0, Lines(verify));
        Assert.Contains("[wal-verify] integrity check status: OK", verify.Stdout, StringComparison.Ordinal);
        Assert.Contains("[wal-verify] timeline check status: OK", verify.Stdout, StringComparison.Ordinal);
        Assert.Contains("Current cluster timeline: 2", verify.Stdout, StringComparison.Ordinal);

        // backup-mark: B2 permanent; everything without FORCE is refused and changes nothing.
        (await Run("backup-mark", b2)).EnsureSuccess("backup-mark");
        var everything = await Run("delete", "everything", "--confirm");
        Assert.Equal(1, everything.ExitCode);
        Assert.Contains($"permanent backups ({b2})", everything.Stderr, StringComparison.Ordinal);
        Assert.Equal([b1, b2, b3, b4], BackupNames());

        // garbage: WAL older than B1 goes, nothing else.
        var tl1Before = Segments(1);
        var tl2Before = Segments(2);
        Assert.Contains(tl1Before, s => SegmentNumber(s) < SegmentNumber(b1[5..]));
        var garbageDry = (await Run("delete", "garbage")).EnsureSuccess("delete garbage");
        Assert.Contains("Dry run:", garbageDry.Stdout, StringComparison.Ordinal);
        Assert.Equal(tl1Before, Segments(1));
        (await Run("delete", "garbage", "--confirm")).EnsureSuccess("delete garbage --confirm");
        Assert.Equal(tl1Before.Where(s => SegmentNumber(s) >= SegmentNumber(b1[5..])), Segments(1));
        Assert.Equal(tl2Before, Segments(2));
        Assert.Equal([b1, b2, b3, b4], BackupNames());

        // before TIME (between B2's and B3's sentinels): a dry run that would delete B1 only.
        var b3Written = File.GetLastWriteTimeUtc(Path.Combine(_workspace.ArchiveDirectory, "basebackups_005", b3 + "_backup_stop_sentinel.json"));
        var beforeDry = (await Run("delete", "before", b3Written.AddMilliseconds(-1).ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture)))
            .EnsureSuccess("delete before TIME");
        Assert.Contains($"basebackups_005/{b1}_backup_stop_sentinel.json", beforeDry.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain($"basebackups_005/{b2}_backup_stop_sentinel.json", beforeDry.Stdout, StringComparison.Ordinal);
        Assert.Contains($"keep   {b2}  permanent", beforeDry.Stdout, StringComparison.Ordinal);
        Assert.Equal([b1, b2, b3, b4], BackupNames());

        // retain 2, twice at once: B1 goes; B2 stays (permanent) with only the WAL from its start to its finish;
        // timeline 2 keeps everything from B3 on; the history file stays.
        var b2Lsns = BackupLsns(detail.Stdout, b2);
        var retainDry = (await Run("delete", "retain", "2")).EnsureSuccess("delete retain 2");
        Assert.Contains($"delete {b1}", retainDry.Stdout, StringComparison.Ordinal);
        var runs = await Task.WhenAll(Run("delete", "retain", "2", "--confirm"), Run("delete", "retain", "2", "--confirm"));
        Assert.All(runs, r => Assert.True(r.ExitCode == 0, Lines(r)));
        Assert.Equal([b2, b3, b4], BackupNames());
        Assert.Empty(Keys($"basebackups_005/{b1}"));
        Assert.Equal(tl1Before.Where(s => SegmentNumber(s) >= b2Lsns.Start >> 24 && SegmentNumber(s) <= b2Lsns.Finish >> 24), Segments(1));
        Assert.Equal(tl2Before.Where(s => SegmentNumber(s) >= SegmentNumber(b3[5..])), Segments(2));
        Assert.Contains("wal_005/00000002.history.lz4", Keys("wal_005/"));

        // before FIND_FULL B3 (confirmed): nothing is left to delete.
        var beforeConfirmed = (await Run("delete", "before", "FIND_FULL", b3, "--confirm")).EnsureSuccess("delete before FIND_FULL");
        Assert.Contains("Nothing to delete.", beforeConfirmed.Stdout, StringComparison.Ordinal);

        // target B4: its objects go, WAL stays (B3 needs all of timeline 2 from its start).
        var walBeforeTarget = Keys("wal_005/");
        var targetDry = (await Run("delete", "target", b4)).EnsureSuccess("delete target");
        Assert.Contains($"basebackups_005/{b4}/tar_partitions/part_001.tar.lz4", targetDry.Stdout, StringComparison.Ordinal);
        Assert.Equal([b2, b3, b4], BackupNames());
        (await Run("delete", "target", b4, "--confirm")).EnsureSuccess("delete target --confirm");
        Assert.Equal([b2, b3], BackupNames());
        Assert.Empty(Keys($"basebackups_005/{b4}"));
        Assert.Equal(walBeforeTarget, Keys("wal_005/").Where(walBeforeTarget.Contains));

        // PITR from the oldest kept impermanent backup (B3) to a time between B3 and the deleted B4.
        await restored.StopAsync();
        var second = _workspace.CreateDirectory("second");
        (await Run("backup-fetch", Path.Combine(second, "data"), b3, "--recovery-target-time", secondTarget, "--recovery-target-action", "promote"))
            .EnsureSuccess("backup-fetch B3");
        await using (var again = await PostgresCluster.StartAsync(second, ArchiveCommand, Settings))
        {
            await again.WaitUntilPromotedAsync(TimeSpan.FromMinutes(3));
            Assert.Equal(300L, await again.ScalarAsync<long>("SELECT count(*) FROM items"));
            Assert.Equal(1200, await again.ScalarAsync<int>("SELECT max(id) FROM items"));
            await again.StopAsync();
        }

        // everything FORCE: dry run lists the permanent backup, --confirm empties the archive.
        var forceDry = (await Run("delete", "everything", "FORCE")).EnsureSuccess("delete everything FORCE");
        Assert.Contains($"basebackups_005/{b2}_backup_stop_sentinel.json", forceDry.Stdout, StringComparison.Ordinal);
        Assert.NotEmpty(Keys("wal_005/"));
        (await Run("delete", "everything", "FORCE", "--confirm")).EnsureSuccess("delete everything FORCE --confirm");
        Assert.Empty(Keys(""));
    }

    [Fact]
    public async Task Wal_verify_reports_a_removed_segment_and_backup_verify_a_flipped_byte()
    {
        await using var cluster = await PostgresCluster.StartAsync(_workspace.PathFor("source"), ArchiveCommand, Settings);
        await cluster.ExecuteAsync("CREATE TABLE items (id int PRIMARY KEY, payload text)");
        var backup = await PushAsync(cluster);
        for (var i = 0; i < 4; i++)
        {
            await AddRowsAsync(cluster, i * 100 + 1, i * 100 + 100);
        }

        var verified = await Run("backup-verify", "LATEST");
        Assert.True(verified.ExitCode == 0, Lines(verified));
        Assert.Matches($@"^{backup}: OK, 3 tar partitions, \d+ files \(\d+ checked against XXH128, 0 without a recorded checksum\)", verified.Stdout);

        var ok = await RunAgainst(cluster, "wal-verify", "integrity", "timeline", "--json");
        Assert.True(ok.ExitCode == 0, Lines(ok));

        // Remove the segment after the backup's start: recovery from the backup would stop there.
        var removed = Segments(1).First(s => SegmentNumber(s) == SegmentNumber(backup[5..]) + 1);
        File.Delete(Path.Combine(_workspace.ArchiveDirectory, "wal_005", removed + ".lz4"));
        var settings = PitrScenario.Merge(Settings, cluster.LibpqEnvironment);
        settings["WALG_UPLOAD_CONCURRENCY"] = "1";
        var lost = await cli.RunAsync(settings, "wal-verify", "integrity", "timeline", "--json");
        Assert.True(lost.ExitCode == 1, Lines(lost));
        using (var document = JsonDocument.Parse(lost.Stdout))
        {
            Assert.Equal("FAILURE", document.RootElement.GetProperty("integrity").GetProperty("status").GetString());
            Assert.Equal("OK", document.RootElement.GetProperty("timeline").GetProperty("status").GetString());
            var missing = Assert.Single(document.RootElement.GetProperty("integrity").GetProperty("details").EnumerateArray(), d => d.GetProperty("status").GetString() == "MISSING_LOST");
            Assert.Equal(removed, missing.GetProperty("start_segment").GetString());
            Assert.Equal(removed, missing.GetProperty("end_segment").GetString());
        }

        var plain = await cli.RunAsync(settings, "wal-verify", "integrity");
        Assert.Equal(1, plain.ExitCode);
        Assert.Contains("[wal-verify] integrity check status: FAILURE", plain.Stdout, StringComparison.Ordinal);
        Assert.Contains($"| {removed} | {removed} | 1 ", plain.Stdout, StringComparison.Ordinal);

        // With the server stopped, the newest archived segment stands for the current one: still a failure.
        await cluster.StopAsync();
        var offline = await cli.RunAsync(settings, "wal-verify", "integrity", "timeline");
        Assert.Equal(1, offline.ExitCode);
        Assert.Contains("is not reachable", offline.Stderr, StringComparison.Ordinal);
        Assert.Contains("[wal-verify] timeline check status: WARNING", offline.Stdout, StringComparison.Ordinal);

        // A flipped byte in the middle of a tar partition.
        var part = Path.Combine(_workspace.ArchiveDirectory, "basebackups_005", backup, "tar_partitions", "part_001.tar.lz4");
        var bytes = await File.ReadAllBytesAsync(part, TestContext.Current.CancellationToken);
        bytes[bytes.Length / 2] ^= 0x40;
        await File.WriteAllBytesAsync(part, bytes, TestContext.Current.CancellationToken);
        var damaged = await Run("backup-verify", backup);
        Assert.True(damaged.ExitCode == 1, Lines(damaged));
        // Named by the file whose content changed, or, when the flip hit a tar header, by the partition's stored checksum.
        Assert.Contains($"pgarchive: error: backup {backup} is damaged: ", damaged.Stderr, StringComparison.Ordinal);
        Assert.Contains("in part_001.tar.lz4", damaged.Stderr, StringComparison.Ordinal);
        Assert.True(
            damaged.Stderr.Contains("does not match the checksum recorded at backup-push", StringComparison.Ordinal)
            || damaged.Stderr.Contains($"{backup}/tar_partitions/part_001.tar.lz4' is damaged", StringComparison.Ordinal),
            damaged.Stderr);
        Assert.DoesNotContain("   at ", damaged.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Backup_push_reports_a_corrupt_heap_page_and_still_completes()
    {
        await using var cluster = await PostgresCluster.StartAsync(_workspace.PathFor("source"), ArchiveCommand, Settings, "autovacuum = off");
        await cluster.ExecuteAsync("CREATE TABLE victim AS SELECT g AS id, md5(g::text) AS payload FROM generate_series(1, 2000) g");
        await cluster.ExecuteAsync("CHECKPOINT");
        var relation = await cluster.ScalarAsync<string>("SELECT pg_relation_filepath('victim')");
        Assert.True(await cluster.ScalarAsync<long>("SELECT pg_relation_size('victim')") >= 3 * 8192);
        await cluster.StopAsync();

        var file = Path.Combine(cluster.DataDirectory, relation);
        await using (var stream = new FileStream(file, FileMode.Open, FileAccess.ReadWrite))
        {
            stream.Position = 8192 + 4000; // block 1, inside the tuple data
            var b = stream.ReadByte();
            stream.Position = 8192 + 4000;
            stream.WriteByte((byte)(b ^ 0x01));
        }

        // PostgreSQL's own offline checker agrees on the block.
        var pgChecksums = await ProcessRunner.RunAsync("/usr/lib/postgresql/15/bin/pg_checksums", ["--check", "-D", cluster.DataDirectory]);
        Assert.NotEqual(0, pgChecksums.ExitCode);
        Assert.Contains($"{relation}\", block 1:", pgChecksums.Stderr, StringComparison.Ordinal);

        await cluster.StartAsync();
        var push = await RunAgainst(cluster, "backup-push", cluster.DataDirectory);
        Assert.True(push.ExitCode == 0, Lines(push));
        var name = push.Stdout.Trim();
        Assert.Contains($"pgarchive: warning: page checksum verification failed in {relation}, blocks 1", push.Stderr, StringComparison.Ordinal);
        Assert.Equal([name], BackupNames());

        var filesMetadata = await File.ReadAllTextAsync(Path.Combine(_workspace.ArchiveDirectory, "basebackups_005", name, "files_metadata.json"), TestContext.Current.CancellationToken);
        using var document = JsonDocument.Parse(filesMetadata);
        var files = document.RootElement.GetProperty("Files");
        var corrupt = files.GetProperty("/" + relation).GetProperty("CorruptBlocks");
        Assert.Equal(1, corrupt.GetProperty("CorruptBlocksCount").GetInt32());
        Assert.Equal([1u], corrupt.GetProperty("SomeCorruptBlocks").EnumerateArray().Select(e => e.GetUInt32()));
        Assert.Equal(1, files.EnumerateObject().Count(f => f.Value.TryGetProperty("CorruptBlocks", out _)));
        Assert.All(files.EnumerateObject(), f => Assert.Matches("^[0-9a-f]{32}$", f.Value.GetProperty("XxHash128").GetString()));

        // Verification off: no warning, nothing recorded.
        await cluster.ExecuteAsync("SELECT pg_switch_wal()");
        var settings = PitrScenario.Merge(Settings, cluster.LibpqEnvironment);
        settings["WALG_VERIFY_PAGE_CHECKSUMS"] = "false";
        var unchecked_ = await cli.RunAsync(settings, "backup-push", cluster.DataDirectory);
        Assert.True(unchecked_.ExitCode == 0, Lines(unchecked_));
        Assert.DoesNotContain("page checksum", unchecked_.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Page_verification_raises_no_false_alarm_while_pgbench_writes()
    {
        await using var cluster = await PostgresCluster.StartAsync(_workspace.PathFor("source"), ArchiveCommand, Settings, "shared_buffers = '1MB'");
        await cluster.PgbenchAsync("-i", "-s", "1", "-q");
        var load = cluster.PgbenchAsync("-c", "2", "-T", "10", "-n");
        await Task.Delay(1500, TestContext.Current.CancellationToken);
        var push = await RunAgainst(cluster, "backup-push", cluster.DataDirectory);
        await load;

        Assert.True(push.ExitCode == 0, Lines(push));
        Assert.DoesNotContain("page checksum", push.Stderr, StringComparison.Ordinal);
        var name = push.Stdout.Trim();
        var filesMetadata = await File.ReadAllTextAsync(Path.Combine(_workspace.ArchiveDirectory, "basebackups_005", name, "files_metadata.json"), TestContext.Current.CancellationToken);
        Assert.DoesNotContain("CorruptBlocks", filesMetadata, StringComparison.Ordinal);
        Assert.Equal(0, (await Run("backup-verify", name)).ExitCode);
    }

    private static (ulong Start, ulong Finish) BackupLsns(string detailJson, string name)
    {
        using var document = JsonDocument.Parse(detailJson);
        var backup = document.RootElement.EnumerateArray().Single(b => b.GetProperty("backup_name").GetString() == name);
        return (backup.GetProperty("start_lsn").GetUInt64(), backup.GetProperty("finish_lsn").GetUInt64());
    }
}
