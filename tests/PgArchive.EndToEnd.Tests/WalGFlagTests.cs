using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace PgArchive.EndToEnd;

/// <summary>
/// The flags WAL-G users pass (WAL-G's <c>cmd/pg/*.go</c>): each one either works as in WAL-G, its effect checked against
/// real PostgreSQL 15, or fails with exit 2 and one line naming the flag and why; none is unknown to the command line,
/// none silently ignored.
/// </summary>
public sealed class WalGFlagTests(PgArchiveCli cli) : IAsyncLifetime
{
    private readonly ArchiveWorkspace _workspace = new();

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync() => _workspace.DisposeAsync();

    private string ArchiveCommand => $"\"{cli.Executable}\" wal-push \"%p\"";

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private string BackupPath(string name, string file) => Path.Combine(_workspace.ArchiveDirectory, "basebackups_005", name, file);

    private static JsonElement Json(string path) => JsonDocument.Parse(File.ReadAllText(path)).RootElement;

    private JsonElement Sentinel(string name) => Json(Path.Combine(_workspace.ArchiveDirectory, "basebackups_005", name + "_backup_stop_sentinel.json"));

    private static void AssertOneLineRefusal(ProcessResult result, string expected)
    {
        Assert.True(result.ExitCode == 2, $"exit {result.ExitCode}, want 2; stderr: {result.Stderr}");
        var lines = result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, "want one line on stderr, got: " + result.Stderr);
        Assert.StartsWith("pgarchive: ", lines[0], StringComparison.Ordinal);
        Assert.Contains(expected, lines[0], StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", lines[0], StringComparison.Ordinal);
        Assert.Equal("", result.Stdout);
    }

    /// <summary>Arguments with DEST and FILE replaced by paths of this workspace.</summary>
    private string[] Arguments(string commandLine) =>
        [.. commandLine.Split(' ').Select(a => a.Replace("DEST", _workspace.PathFor("dest"), StringComparison.Ordinal).Replace("FILE", _workspace.PathFor("000000010000000000000001"), StringComparison.Ordinal))];

    [Theory]
    [InlineData("backup-push -r DEST", null, "backup-push --rating-composer is not supported: pgarchive packs files into tar partitions its own way")]
    [InlineData("backup-push --rating-composer DEST", null, "backup-push --rating-composer is not supported")]
    [InlineData("backup-push -c DEST", null, "backup-push --copy-composer is not supported: pgarchive does not copy unchanged tar partitions")]
    [InlineData("backup-push --database-composer DEST", null, "backup-push --database-composer is not supported: pgarchive does not group tar partitions by database")]
    [InlineData("backup-push -b DEST", null, "backup-push --database-composer is not supported")]
    [InlineData("backup-push DEST", "WALG_USE_COPY_COMPOSER=true", "WALG_USE_COPY_COMPOSER=true (backup-push --copy-composer) is not supported")]
    [InlineData("backup-fetch DEST LATEST --restore-only db1,db2/public.t", null, "backup-fetch --restore-only is not supported: pgarchive restores whole backups")]
    [InlineData("delete garbage --without-backup-check", null, "delete garbage --without-backup-check is not supported")]
    [InlineData("backup-push --target-storage failover DEST", null, "--target-storage 'failover' is not supported: pgarchive uses WAL-G's 'default' storage and its failover storages (WALG_FAILOVER_STORAGES) together")]
    [InlineData("backup-fetch DEST LATEST --target-storage failover", null, "--target-storage 'failover' is not supported")]
    [InlineData("backup-list --target-storage failover", null, "--target-storage 'failover' is not supported")]
    [InlineData("wal-push FILE --target-storage failover", null, "--target-storage 'failover' is not supported")]
    [InlineData("wal-fetch 000000010000000000000001 DEST --target-storage failover", null, "--target-storage 'failover' is not supported")]
    [InlineData("backup-list", "WALG_TARGET_STORAGE=failover", "WALG_TARGET_STORAGE 'failover' is not supported")]
    public async Task WalG_flag_pgarchive_does_not_support_fails_with_one_line_naming_it(string commandLine, string? setting, string expected)
    {
        var settings = _workspace.FileArchiveSettings;
        if (setting?.Split('=') is [var name, var value])
        {
            settings[name] = value;
        }

        AssertOneLineRefusal(await cli.RunAsync(settings, Arguments(commandLine)), expected);
    }

    [Theory]
    [InlineData("wal-verify integrity --lsn 0/3000000", "wal-verify --lsn works only together with --timeline")]
    [InlineData("wal-verify integrity --timeline 1", "wal-verify --timeline works only together with --lsn")]
    [InlineData("wal-verify integrity --timeline 1 --lsn nowhere", "wal-verify --lsn 'nowhere' is not an LSN")]
    [InlineData("backup-fetch DEST LATEST --mask [a", "--mask '[a' is not a valid pattern")]
    [InlineData("backup-fetch DEST LATEST --forward-unpack --skip-redundant-tars", "--skip-redundant-tars works with reverse unpack (the default")]
    [InlineData("backup-fetch DEST LATEST --forward-unpack --reverse-unpack", "--reverse-unpack and --forward-unpack ask for opposite orders")]
    [InlineData("backup-fetch DEST LATEST --mask base/* --recovery", "--mask restores part of a backup, which PostgreSQL cannot start")]
    [InlineData("backup-fetch DEST LATEST --target-user-data {}", "name the backup (LATEST) or give --target-user-data, not both")]
    [InlineData("backup-fetch DEST", "name the backup to restore (or LATEST), or give --target-user-data")]
    [InlineData("backup-fetch DEST LATEST --target-user-data {oops", "--target-user-data is not valid JSON")]
    [InlineData("backup-fetch DEST LATEST --restore-spec FILE --tablespace-map 16390=/srv/ts", "--restore-spec or with --tablespace-map, not both")]
    [InlineData("backup-push --without-files-metadata --delta-from-name base_000000010000000000000002 DEST", "--without-files-metadata cannot be used with --delta-from-name")]
    [InlineData("backup-push --delta-from-name base_000000010000000000000002 --delta-from-user-data {} DEST", "--delta-from-name or --delta-from-user-data, not both")]
    [InlineData("delete target base_000000010000000000000002 --target-user-data {}", "name the backup or give --target-user-data, not both")]
    public async Task WalG_flag_given_wrongly_fails_with_one_line_naming_it(string commandLine, string expected) =>
        AssertOneLineRefusal(await cli.RunAsync(_workspace.FileArchiveSettings, Arguments(commandLine)), expected);

    [Fact]
    public async Task Backup_push_wal_verify_and_delete_take_WalG_flags_with_WalG_effects()
    {
        var settings = _workspace.FileArchiveSettings;
        await using var cluster = await PostgresCluster.StartAsync(_workspace.PathFor("source"), ArchiveCommand, settings, "autovacuum = off");
        var connected = PitrScenario.Merge(settings, cluster.LibpqEnvironment);
        async Task<string> PushAsync(IReadOnlyDictionary<string, string?> environment, params string[] flags) =>
            (await cli.RunAsync(environment, ["backup-push", .. flags, cluster.DataDirectory])).EnsureSuccess("backup-push " + string.Join(' ', flags)).Stdout.Trim();
        await cluster.ExecuteAsync("CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 10000) g");

        // -p, -v and --add-user-data; --delta-from-user-data picks the base by its user data (JSON compared as Go decodes it)
        var based = await PushAsync(connected, "--add-user-data", """{"role":"base","n":1}""");
        var permanent = await PushAsync(connected, "-p", "-v", "--add-user-data", """{"role":"kept"}""");
        await cluster.ExecuteAsync("INSERT INTO t SELECT g FROM generate_series(1, 1000) g");
        var delta = await PushAsync(connected, "--delta-from-user-data", """{ "n": 1.0, "role": "base" }""");
        var unmatched = await PushAsync(connected, "--delta-from-user-data", """{"role":"nobody"}""");
        var noFiles = await PushAsync(connected, "--without-files-metadata", "--add-user-data", """{"role":"nofiles"}""");

        Assert.True(Json(BackupPath(permanent, "metadata.json")).GetProperty("is_permanent").GetBoolean());
        Assert.False(Json(BackupPath(based, "metadata.json")).GetProperty("is_permanent").GetBoolean());
        Assert.EndsWith("_D_" + based[5..], delta, StringComparison.Ordinal);
        Assert.Equal(based, Sentinel(delta).GetProperty("DeltaFrom").GetString());
        Assert.Matches("^base_[0-9A-F]{24}$", unmatched); // no backup has that user data: a full backup, as WAL-G
        Assert.False(File.Exists(BackupPath(noFiles, "files_metadata.json")));
        Assert.True(Sentinel(noFiles).GetProperty("FilesMetadataDisabled").GetBoolean());
        Assert.Matches("^base_[0-9A-F]{24}$", noFiles);
        (await cli.RunAsync(settings, "backup-verify", noFiles)).EnsureSuccess("backup-verify of the backup without files_metadata.json");
        var noFilesRestored = _workspace.PathFor("no-files-metadata");
        (await cli.RunAsync(settings, "backup-fetch", noFilesRestored, noFiles)).EnsureSuccess("backup-fetch of the backup without files_metadata.json");
        Assert.True(File.Exists(Path.Combine(noFilesRestored, "global", "pg_control")) && File.Exists(Path.Combine(noFilesRestored, "backup_label")));

        // --turbo: WAL-G reads 4 files at once whatever WALG_UPLOAD_DISK_CONCURRENCY says (so even 0 does not stop it)
        var diskZero = new Dictionary<string, string?>(connected) { ["WALG_UPLOAD_DISK_CONCURRENCY"] = "0" };
        var withoutTurbo = await cli.RunAsync(diskZero, "backup-push", cluster.DataDirectory);
        Assert.True(withoutTurbo.ExitCode == 2 && withoutTurbo.Stderr.Contains("WALG_UPLOAD_DISK_CONCURRENCY", StringComparison.Ordinal), withoutTurbo.Stderr);
        var turbo = await PushAsync(diskZero, "--turbo");

        // --target-storage default is the storage pgarchive has
        Assert.Contains(turbo, (await cli.RunAsync(settings, "backup-list", "--target-storage", "default")).EnsureSuccess("backup-list --target-storage default").Stdout,
            StringComparison.Ordinal);
        await cluster.SwitchWalAndWaitForArchiveAsync();
        (await cli.RunAsync(settings, "wal-fetch", based[5..], _workspace.PathFor("fetched"), "--target-storage", "default")).EnsureSuccess("wal-fetch --target-storage default");

        // wal-verify: from the oldest impermanent backup by default, from --backup-name when named; --timeline with --lsn
        // stand for the server's position (no server asked), here far past the archive: the segments between are lost.
        static JsonElement Integrity(ProcessResult result) => JsonDocument.Parse(result.Stdout).RootElement.GetProperty("integrity");
        var byDefault = Integrity((await cli.RunAsync(connected, "wal-verify", "integrity", "--json")).EnsureSuccess("wal-verify"));
        Assert.Equal("OK", byDefault.GetProperty("status").GetString());
        Assert.Equal(based[5..], byDefault.GetProperty("details")[0].GetProperty("start_segment").GetString());
        var fromNamed = Integrity((await cli.RunAsync(connected, "wal-verify", "integrity", "--json", "--backup-name", unmatched)).EnsureSuccess("wal-verify --backup-name"));
        Assert.Equal(unmatched[5..], fromNamed.GetProperty("details")[0].GetProperty("start_segment").GetString());
        var farAhead = await cli.RunAsync(settings, "wal-verify", "integrity", "timeline", "--json", "--timeline", "1", "--lsn", "0/7F000000");
        Assert.True(farAhead.ExitCode == 1, farAhead.Stderr);
        var farReport = JsonDocument.Parse(farAhead.Stdout).RootElement;
        Assert.Equal("FAILURE", farReport.GetProperty("integrity").GetProperty("status").GetString());
        Assert.Equal("00000001000000000000007D", farReport.GetProperty("integrity").GetProperty("details").EnumerateArray().Last().GetProperty("end_segment").GetString());
        Assert.Contains(farReport.GetProperty("integrity").GetProperty("details").EnumerateArray(), d => d.GetProperty("status").GetString() == "MISSING_LOST");
        var otherTimeline = await cli.RunAsync(settings, "wal-verify", "timeline", "--timeline", "2", "--lsn", "0/3000000");
        Assert.True(otherTimeline.ExitCode == 1, otherTimeline.Stderr);
        Assert.Contains("Current cluster timeline: 2", otherTimeline.Stdout, StringComparison.Ordinal);

        // delete target --target-user-data deletes the one backup holding it; retain --after keeps the backups after the one named
        var target = (await cli.RunAsync(settings, "delete", "target", "--target-user-data", """{"role":"nofiles"}""")).EnsureSuccess("delete target --target-user-data").Stdout;
        AssertDecision(target, "delete", noFiles);
        AssertDecision(target, "keep", unmatched);
        var retain = (await cli.RunAsync(settings, "delete", "retain", "1")).EnsureSuccess("delete retain 1").Stdout;
        var retainAfter = (await cli.RunAsync(settings, "delete", "retain", "1", "--after", unmatched)).EnsureSuccess("delete retain 1 --after").Stdout;
        AssertDecision(retain, "delete", unmatched);
        AssertDecision(retainAfter, "keep", unmatched);
        AssertDecision(retainAfter, "keep", noFiles);
        AssertDecision(retainAfter, "delete", based);
        AssertDecision(retainAfter, "keep", permanent);

        // -s / --store-all-corrupt: every corrupt block recorded, not only the first ten
        await cluster.ExecuteAsync("CREATE TABLE victim AS SELECT g AS id, md5(g::text) AS payload FROM generate_series(1, 3000) g");
        await cluster.ExecuteAsync("CHECKPOINT");
        var relation = await cluster.ScalarAsync<string>("SELECT pg_relation_filepath('victim')");
        await cluster.StopAsync();
        await using (var stream = new FileStream(Path.Combine(cluster.DataDirectory, relation), FileMode.Open, FileAccess.ReadWrite))
        {
            for (var block = 1; block <= 12; block++)
            {
                stream.Position = block * 8192L + 4000;
                var b = stream.ReadByte();
                stream.Position = block * 8192L + 4000;
                stream.WriteByte((byte)(b ^ 0x01));
            }
        }

        await cluster.StartAsync();
        CorruptBlocks(await PushAsync(connected), relation, listed: 10);
        var newest = await PushAsync(connected, "-s");
        CorruptBlocks(newest, relation, listed: 12);

        // delete target LATEST, as WAL-G's target selector reads it: the backup stored last
        var latest = (await cli.RunAsync(settings, "delete", "target", "LATEST")).EnsureSuccess("delete target LATEST").Stdout;
        AssertDecision(latest, "delete", newest);
        AssertDecision(latest, "keep", turbo);
    }

    private void CorruptBlocks(string backup, string relation, int listed)
    {
        var corrupt = Json(BackupPath(backup, "files_metadata.json")).GetProperty("Files").GetProperty("/" + relation).GetProperty("CorruptBlocks");
        Assert.Equal(12, corrupt.GetProperty("CorruptBlocksCount").GetInt32());
        Assert.Equal(Enumerable.Range(1, listed).Select(b => (uint)b), corrupt.GetProperty("SomeCorruptBlocks").EnumerateArray().Select(e => e.GetUInt32()));
    }

    /// <summary>The delete plan printed decides <paramref name="verdict"/> (keep or delete) for <paramref name="backup"/>.</summary>
    private static void AssertDecision(string plan, string verdict, string backup) =>
        Assert.True(Regex.IsMatch(plan, $@"^\s+{verdict}\s+{backup}\s", RegexOptions.Multiline), $"want {verdict} {backup} in:\n{plan}");

    [Fact]
    public async Task Backup_fetch_takes_WalG_flags_with_WalG_effects()
    {
        var settings = _workspace.FileArchiveSettings;
        settings["WALG_TAR_SIZE_THRESHOLD"] = "1048576";
        var tablespace = _workspace.CreateDirectory("tablespace");
        await using var cluster = await PostgresCluster.StartAsync(_workspace.PathFor("source"), ArchiveCommand, settings, "autovacuum = off");
        var connected = PitrScenario.Merge(settings, cluster.LibpqEnvironment);
        await cluster.ExecuteAsync($"CREATE TABLESPACE outside LOCATION '{tablespace}'");
        await cluster.ExecuteAsync("CREATE TABLE far TABLESPACE outside AS SELECT g AS id, md5(g::text) AS payload FROM generate_series(1, 5000) g");
        await cluster.ExecuteAsync("CREATE TABLE gone AS SELECT g AS id, repeat('x', 500) AS payload FROM generate_series(1, 20000) g");
        var oid = (await cluster.ScalarAsync<uint>("SELECT oid FROM pg_tablespace WHERE spcname = 'outside'")).ToString(CultureInfo.InvariantCulture);
        var full = (await cli.RunAsync(connected, "backup-push", "--add-user-data", """{"k":"full"}""", cluster.DataDirectory)).EnsureSuccess("full").Stdout.Trim();
        await cluster.ExecuteAsync("DROP TABLE gone");
        await cluster.ExecuteAsync("INSERT INTO far SELECT g, 'later' FROM generate_series(5001, 6000) g");
        var delta = (await cli.RunAsync(new Dictionary<string, string?>(connected) { ["WALG_DELTA_MAX_STEPS"] = "1" }, "backup-push", cluster.DataDirectory))
            .EnsureSuccess("delta").Stdout.Trim();
        Assert.EndsWith("_D_" + full[5..], delta, StringComparison.Ordinal);
        await cluster.StopAndDeleteAsync();

        // --target-user-data picks the backup; --restore-spec (WAL-G's tablespace spec) says where its tablespace goes
        var specTarget = _workspace.CreateDirectory("spec-ts");
        var restored = Path.Combine(_workspace.CreateDirectory("by-user-data"), "data");
        var spec = _workspace.PathFor("restore-spec.json");
        await File.WriteAllTextAsync(spec, $$$"""{"base_prefix": "{{{restored}}}", "tablespaces": ["{{{oid}}}"], "{{{oid}}}": {"loc": "{{{specTarget}}}/", "link": "pg_tblspc/{{{oid}}}"}}""", Token);
        var byUserData = (await cli.RunAsync(settings, "backup-fetch", restored, "--target-user-data", """{"k":"full"}""", "--restore-spec", spec))
            .EnsureSuccess("backup-fetch --target-user-data --restore-spec");
        Assert.Equal(full, byUserData.Stdout.Trim());
        Assert.Equal(specTarget, new DirectoryInfo(Path.Combine(restored, "pg_tblspc", oid)).LinkTarget);
        Assert.NotEmpty(Directory.EnumerateFiles(specTarget, "*", SearchOption.AllDirectories));
        var badSpec = _workspace.PathFor("restore-spec-without.json");
        await File.WriteAllTextAsync(badSpec, $$"""{"base_prefix": "{{restored}}2", "tablespaces": []}""", Token);
        AssertOneLineRefusal(await cli.RunAsync(settings, "backup-fetch", restored + "2", full, "--restore-spec", badSpec),
            $"gives no location for tablespace {oid}, which backup {full} has");

        // --skip-redundant-tars (with --reverse-unpack): the full backup's partition holding only the dropped table is not
        // downloaded, and the restore is byte for byte the one that reads every partition
        var skipping = _workspace.CreateDirectory("skipping");
        var skipped = (await cli.RunAsync(settings, "backup-fetch", Path.Combine(skipping, "data"), delta, "--reverse-unpack", "--skip-redundant-tars",
            "--tablespace-map", $"{oid}={Path.Combine(skipping, "ts")}")).EnsureSuccess("backup-fetch --skip-redundant-tars");
        var reading = _workspace.CreateDirectory("reading");
        var everything = (await cli.RunAsync(settings, "backup-fetch", Path.Combine(reading, "data"), delta, "--reverse-unpack",
            "--tablespace-map", $"{oid}={Path.Combine(reading, "ts")}")).EnsureSuccess("backup-fetch --reverse-unpack");
        var skippedParts = Regex.Matches(skipped.Stderr, $@"Skipped basebackups_005/{full}/tar_partitions/part_\d+\.tar\S*").Select(m => m.Value).ToList();
        Assert.True(skippedParts.Count >= 1, "the dropped table's partition of the full backup should be skipped: " + skipped.Stderr);
        Assert.DoesNotContain("Skipped", everything.Stderr, StringComparison.Ordinal);
        Assert.Equal(Tree(reading), Tree(skipping));

        // --mask: only the files whose path matches (as WAL-G matches "/" + mask), no backup_label, no pg_control
        var masked = Path.Combine(_workspace.CreateDirectory("masked"), "data");
        (await cli.RunAsync(settings, "backup-fetch", masked, full, "--mask", "base/1/*", "--tablespace-map", $"{oid}={_workspace.PathFor("masked-ts")}"))
            .EnsureSuccess("backup-fetch --mask");
        var recorded = Json(BackupPath(full, "files_metadata.json")).GetProperty("Files").EnumerateObject().Select(f => f.Name)
            .Where(k => k.StartsWith("/base/1/", StringComparison.Ordinal) && k.Count(c => c == '/') == 3).Order(StringComparer.Ordinal).ToList();
        Assert.NotEmpty(recorded);
        Assert.Equal(recorded, Directory.EnumerateFiles(masked, "*", SearchOption.AllDirectories).Select(f => "/" + Path.GetRelativePath(masked, f)).Order(StringComparer.Ordinal));
        Assert.True(Directory.Exists(Path.Combine(masked, "base", "5")), "directories are all created, as WAL-G creates them");
    }

    /// <summary>Every file under <paramref name="root"/> (links followed) with the SHA-256 of its content.</summary>
    private static SortedDictionary<string, string> Tree(string root)
    {
        var tree = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var file in Directory.EnumerateFiles(root, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }))
        {
            tree[Path.GetRelativePath(root, file)] = Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(file)));
        }

        return tree;
    }
}
