using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using PgArchive.Support;

namespace PgArchive.EndToEnd;

/// <summary>
/// WAL-E archives (lzop-compressed tar partitions, WAL-E's sentinel, <c>wal_005/*.lzo</c>, optionally gpg-encrypted),
/// made from a real PostgreSQL 15 cluster by <see cref="WalEArchiveWriter"/>, which follows WAL-E's source with the
/// real lzop and gpg tools: pgarchive lists them (its own form, WAL-E's CSV form, JSON), restores LATEST to a
/// restore point (PostgreSQL recovers with the right rows), fetches WAL, and deletes (before, retain, old-versions).
/// </summary>
public sealed partial class WalEArchiveTests(PgArchiveCli cli, GpgHome gpg) : IClassFixture<GpgHome>, IAsyncLifetime
{
    private const long PartitionBytes = 4 << 20; // several partitions, as a large cluster has with WAL-E's 1.5 GiB
    private readonly ArchiveWorkspace _workspace = new();

    public async ValueTask InitializeAsync() => await WalEArchiveWriter.InstallToolsAsync();

    public ValueTask DisposeAsync() => _workspace.DisposeAsync();

    private Dictionary<string, string?> Settings => new() { ["WALE_FILE_PREFIX"] = "file://localhost" + _workspace.ArchiveDirectory };

    [Fact]
    public async Task WalE_archive_lists_restores_to_a_restore_point_fetches_wal_and_deletes()
    {
        var writer = new WalEArchiveWriter(_workspace.ArchiveDirectory);
        var (backups, stagedWal) = await BuildSourceAsync(writer, backupCount: 3);
        var settings = Settings;

        // backup-list, pgarchive's form: every WAL-E backup, oldest first.
        var list = (await cli.RunAsync(settings, "backup-list")).EnsureSuccess("backup-list");
        Assert.Equal(backups.Select(b => b.Name), list.Stdout.Split('\n').Skip(1).Where(l => l.Length > 0).Select(l => l.Split(' ')[0]));

        // WAL-E's form: tab-separated, CRLF, its seven columns; the detail ones empty without --detail.
        var walE = (await cli.RunAsync(settings, "backup-list", "--wal-e")).EnsureSuccess("backup-list --wal-e").Stdout.Split("\r\n");
        Assert.Equal("name\tlast_modified\texpanded_size_bytes\twal_segment_backup_start\twal_segment_offset_backup_start\twal_segment_backup_stop\twal_segment_offset_backup_stop", walE[0]);
        for (var i = 0; i < backups.Count; i++)
        {
            var cells = walE[i + 1].Split('\t');
            Assert.Equal(7, cells.Length);
            Assert.Equal(backups[i].Name, cells[0]);
            Assert.Matches(IsoUtc(), cells[1]);
            Assert.Equal(["", backups[i].StartSegment, backups[i].Name[^8..], "", ""], cells[2..]);
        }

        var detail = (await cli.RunAsync(settings, "backup-list", "--wal-e", "--detail")).EnsureSuccess("backup-list --wal-e --detail").Stdout.Split("\r\n");
        var sentinel = JsonDocument.Parse(await File.ReadAllTextAsync(SentinelPath(backups[2].Name), Token)).RootElement;
        Assert.Equal(
            [backups[2].Name, sentinel.GetProperty("expanded_size_bytes").GetInt64().ToString(CultureInfo.InvariantCulture), backups[2].StartSegment,
                backups[2].Name[^8..], sentinel.GetProperty("wal_segment_backup_stop").GetString(), sentinel.GetProperty("wal_segment_offset_backup_stop").GetString()],
            detail[3].Split('\t').Where((_, i) => i != 1));

        // JSON detail: the LSNs come from WAL-E's names and sentinel (decimal offsets), the version from extended_version.txt.
        var json = JsonDocument.Parse((await cli.RunAsync(settings, "backup-list", "--detail", "--json")).EnsureSuccess("backup-list --detail --json").Stdout).RootElement;
        var latest = json.EnumerateArray().Last();
        Assert.Equal(backups[2].Name, latest.GetProperty("backup_name").GetString());
        Assert.Equal(ParseLsn(backups[2].StartLsn), latest.GetProperty("start_lsn").GetUInt64());
        Assert.Equal(ParseLsn(backups[2].StopLsn), latest.GetProperty("finish_lsn").GetUInt64());
        Assert.Equal(150000, latest.GetProperty("pg_version").GetInt32() / 100 * 100);

        // backup-fetch LATEST to the restore point: PostgreSQL recovers through wal-fetch of .lzo segments.
        var restored = await RestoreAndCheckAsync(settings, "LATEST");
        Assert.Equal(backups[2].Name, restored);

        // wal-fetch: byte for byte the segment PostgreSQL archived.
        var fetched = _workspace.PathFor("fetched-segment");
        (await cli.RunAsync(settings, "wal-fetch", backups[2].StartSegment, fetched)).EnsureSuccess("wal-fetch");
        Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(stagedWal, backups[2].StartSegment), Token), await File.ReadAllBytesAsync(fetched, Token));

        // delete before B: A goes (sentinel, folder, the WAL before B's start); dry run first.
        var dryRun = (await cli.RunAsync(settings, "delete", "before", backups[1].Name)).EnsureSuccess("delete before (dry run)");
        Assert.Contains($"delete {backups[0].Name}", dryRun.Stdout, StringComparison.Ordinal);
        Assert.True(File.Exists(SentinelPath(backups[0].Name)), "a dry run deletes nothing");
        (await cli.RunAsync(settings, "delete", "before", backups[1].Name, "--confirm")).EnsureSuccess("delete before --confirm");
        Assert.False(File.Exists(SentinelPath(backups[0].Name)));
        Assert.Empty(FilesUnder(BackupPath(backups[0].Name)));
        Assert.True(File.Exists(SentinelPath(backups[1].Name)));
        Assert.DoesNotContain(WalObjects(), w => string.CompareOrdinal(w, backups[1].StartSegment) < 0);

        // delete retain 1: B goes, C and the WAL from C's start on stay.
        (await cli.RunAsync(settings, "delete", "retain", "1", "--confirm")).EnsureSuccess("delete retain 1 --confirm");
        Assert.False(File.Exists(SentinelPath(backups[1].Name)));
        Assert.Empty(FilesUnder(BackupPath(backups[1].Name)));
        Assert.NotEmpty(FilesUnder(BackupPath(backups[2].Name)));
        Assert.Contains(backups[2].StartSegment + ".lzo", WalObjects());
        Assert.DoesNotContain(WalObjects(), w => string.CompareOrdinal(w, backups[2].StartSegment) < 0);

        // delete old-versions: what WAL-E versions before 005 left (basebackups_00N/, wal_00N/), nothing of 005.
        string[] old =
        [
            "basebackups_004/base_000000010000000000000002_00000040/tar_partitions/part_00000000.tar.lzo",
            "basebackups_004/base_000000010000000000000002_00000040_backup_stop_sentinel.json",
            "wal_004/000000010000000000000002.lzo",
            "basebackups_000/base_000000010000000000000001_00000040/extended_version.txt",
        ];
        foreach (var key in old)
        {
            var path = Path.Combine(_workspace.ArchiveDirectory, key);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            await File.WriteAllTextAsync(path, "old", Token);
        }

        ProcessRunner.GiveToOsUser(_workspace.ArchiveDirectory);
        var oldDryRun = (await cli.RunAsync(settings, "delete", "old-versions")).EnsureSuccess("delete old-versions (dry run)");
        Assert.All(old, key => Assert.Contains(key, oldDryRun.Stdout, StringComparison.Ordinal));
        Assert.All(old, key => Assert.True(File.Exists(Path.Combine(_workspace.ArchiveDirectory, key))));
        (await cli.RunAsync(settings, "delete", "old-versions", "--confirm")).EnsureSuccess("delete old-versions --confirm");
        Assert.All(old, key => Assert.False(File.Exists(Path.Combine(_workspace.ArchiveDirectory, key)), key));
        var after = (await cli.RunAsync(settings, "backup-list")).EnsureSuccess("backup-list after the deletes");
        Assert.Equal([backups[2].Name], after.Stdout.Split('\n').Skip(1).Where(l => l.Length > 0).Select(l => l.Split(' ')[0]));
        Assert.Contains(backups[2].StartSegment + ".lzo", WalObjects());
    }

    [Fact]
    public async Task WalE_gpg_encrypted_archive_restores_with_the_key_exported_from_the_keyring()
    {
        var writer = new WalEArchiveWriter(_workspace.ArchiveDirectory, gpg.Home, gpg.Curve.Fingerprint);
        var (backups, stagedWal) = await BuildSourceAsync(writer, backupCount: 1);
        var stored = await File.ReadAllBytesAsync(Path.Combine(_workspace.ArchiveDirectory, "wal_005", backups[0].StartSegment + ".lzo"), Token);
        Assert.NotEqual((byte)0x89, stored[0]); // encrypted: no lzop magic in the clear

        // The secret key as `gpg --export-secret-keys --armor KEYID > key.asc` wrote it, in WALG_PGP_KEY_PATH.
        var keyPath = _workspace.PathFor("wale-key.asc");
        await File.WriteAllTextAsync(keyPath, gpg.Curve.ArmoredSecret, Token);
        ProcessRunner.GiveToOsUser(keyPath);
        var settings = new Dictionary<string, string?>(Settings) { ["WALG_PGP_KEY_PATH"] = keyPath };

        var restored = await RestoreAndCheckAsync(settings, "LATEST");
        Assert.Equal(backups[0].Name, restored);
        var fetched = _workspace.PathFor("fetched-segment");
        (await cli.RunAsync(settings, "wal-fetch", backups[0].StartSegment, fetched)).EnsureSuccess("wal-fetch");
        Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(stagedWal, backups[0].StartSegment), Token), await File.ReadAllBytesAsync(fetched, Token));

        // Without the key: one line naming the object, no stack trace.
        var noKey = await cli.RunAsync(Settings, "wal-fetch", backups[0].StartSegment, _workspace.PathFor("no-key"));
        Assert.Equal(1, noKey.ExitCode);
        Assert.Contains($"wal_005/{backups[0].StartSegment}.lzo", noKey.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", noKey.Stderr, StringComparison.Ordinal);
    }

    /// <summary>
    /// A source cluster archiving into a staging directory, <paramref name="backupCount"/> WAL-E base backups (a WAL
    /// switch between them), then marker rows 1-3, the restore point <c>wale_target</c>, rows 4-6 and a change after
    /// it; the WAL stored as WAL-E's wal-push stored it; the source destroyed (its configuration files kept, as a WAL-E
    /// user keeps them: WAL-E's backups leave them out).
    /// </summary>
    private async Task<(List<WalEBackupTaken> Backups, string StagedWal)> BuildSourceAsync(WalEArchiveWriter writer, int backupCount)
    {
        var stagedWal = _workspace.CreateDirectory("staged-wal");
        var source = await PostgresCluster.StartAsync(_workspace.PathFor("source"), $"cp \"%p\" \"{stagedWal}/%f\"", new Dictionary<string, string?>());
        var backups = new List<WalEBackupTaken>();
        await using (source)
        {
            await source.PgbenchAsync("-i", "-s", "1", "-q");
            for (var i = 0; i < backupCount; i++)
            {
                await source.SwitchWalAndWaitForArchiveAsync();
                backups.Add(await writer.BackupAsync(source, _workspace.PathFor($"staging-{i}"), PartitionBytes));
            }

            await source.ExecuteAsync("CREATE TABLE marker (id int PRIMARY KEY)");
            await source.ExecuteAsync("INSERT INTO marker VALUES (1), (2), (3)");
            await source.ExecuteAsync("SELECT pg_create_restore_point('wale_target')");
            await source.ExecuteAsync("INSERT INTO marker VALUES (4), (5), (6)");
            await source.ExecuteAsync("UPDATE pgbench_accounts SET abalance = 1 WHERE aid <= 1000");
            await source.SwitchWalAndWaitForArchiveAsync();
            var configuration = Directory.CreateDirectory(_workspace.PathFor("configuration")).FullName;
            foreach (var file in new[] { "postgresql.conf", "pg_hba.conf", "pg_ident.conf" })
            {
                File.Copy(Path.Combine(source.DataDirectory, file), Path.Combine(configuration, file));
            }

            await source.StopAndDeleteAsync();
        }

        await writer.PushWalAsync(stagedWal);
        return (backups, stagedWal);
    }

    /// <summary>backup-fetch NAME to the restore point, the configuration put back, PostgreSQL started: rows 1-3, nothing after the target.</summary>
    private async Task<string> RestoreAndCheckAsync(Dictionary<string, string?> settings, string name)
    {
        var directory = _workspace.CreateDirectory("restored");
        var data = Path.Combine(directory, "data");
        var fetch = (await cli.RunAsync(settings, "backup-fetch", data, name, "--recovery-target-name", "wale_target", "--recovery-target-action", "promote"))
            .EnsureSuccess("backup-fetch");
        Assert.True(File.Exists(Path.Combine(data, "backup_label")), "WAL-E's backup_label is restored from the tar");
        Assert.False(File.Exists(Path.Combine(data, "postgresql.conf")), "WAL-E's backups hold no configuration files");
        foreach (var file in Directory.GetFiles(_workspace.PathFor("configuration")))
        {
            File.Copy(file, Path.Combine(data, Path.GetFileName(file)));
        }

        ProcessRunner.GiveToOsUser(directory);
        var restored = await PostgresCluster.StartAsync(directory, "true", settings);
        await using (restored)
        {
            await restored.WaitUntilPromotedAsync(TimeSpan.FromMinutes(3));
            var markers = await restored.ScalarAsync<int[]>("SELECT coalesce(array_agg(id ORDER BY id), '{}') FROM marker");
            var changed = await restored.ScalarAsync<long>("SELECT count(*) FROM pgbench_accounts WHERE abalance <> 0");
            Assert.True(markers.SequenceEqual([1, 2, 3]) && changed == 0,
                $"PITR to the restore point: markers [{string.Join(',', markers)}] (want 1,2,3), {changed} accounts changed after it.\n{restored.LogTail()}");
            Assert.Equal(100_000, await restored.ScalarAsync<long>("SELECT count(*) FROM pgbench_accounts"));
        }

        return fetch.Stdout.Trim();
    }

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private string SentinelPath(string name) => Path.Combine(_workspace.ArchiveDirectory, "basebackups_005", name + "_backup_stop_sentinel.json");

    private string BackupPath(string name) => Path.Combine(_workspace.ArchiveDirectory, "basebackups_005", name);

    /// <summary>The files left under a folder of the archive (the local store leaves emptied directories behind).</summary>
    private static string[] FilesUnder(string directory) =>
        Directory.Exists(directory) ? Directory.GetFiles(directory, "*", SearchOption.AllDirectories) : [];

    private List<string> WalObjects() =>
        [.. Directory.GetFiles(Path.Combine(_workspace.ArchiveDirectory, "wal_005")).Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal)];

    private static ulong ParseLsn(string text)
    {
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        return (ulong.Parse(text[..slash], NumberStyles.HexNumber, CultureInfo.InvariantCulture) << 32)
            | ulong.Parse(text[(slash + 1)..], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
    }

    [GeneratedRegex(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")]
    private static partial Regex IsoUtc();
}
