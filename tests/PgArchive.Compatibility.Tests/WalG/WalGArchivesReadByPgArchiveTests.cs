using System.Security.Cryptography;
using System.Text.Json;
using Npgsql;
using PgArchive.Compatibility.WalG.Oracle;
using PgArchive.EndToEnd;
using PgArchive.Support;

namespace PgArchive.Compatibility.WalG;

/// <summary>
/// WAL-G → PgArchive: an archive shaped exactly as WAL-G writes it (<see cref="WalGBackupPush"/>: Go's tar headers
/// with <c>/</c> names, nanosecond file times in a non-UTC local zone, LZ4 frames of the <c>lz4</c> tool, WAL-G's
/// libsodium framing through python3-nacl, deltas whose Files lists no utility file, one delta in the layout of WAL-G
/// before files_metadata.json) from a real PostgreSQL 15 with a tablespace, its WAL archived by a script doing what
/// wal-push does; the real pgarchive CLI lists it, restores it to a restore point (rows checked) and deletes it.
/// </summary>
public sealed class WalGArchivesReadByPgArchiveTests(PgArchiveCli cli) : IAsyncLifetime
{
    private const string RestorePoint = "walg_compat";
    private const string State =
        "SELECT (SELECT count(*) FROM pgbench_history) || '/' || (SELECT sum(abalance) FROM pgbench_accounts) || '/' || " +
        "(SELECT count(*) || ':' || sum(length(filler)) FROM in_tablespace) || '/' || (SELECT string_agg(id::text, ',' ORDER BY id) FROM marker)";

    private readonly ArchiveWorkspace _workspace = new();
    private readonly string _keyHex = Convert.ToHexString(RandomNumberGenerator.GetBytes(32));

    public async ValueTask InitializeAsync() => await DebianPackages.EnsureInstalledAsync("python3", "python3-nacl", "lz4");

    public ValueTask DisposeAsync() => _workspace.DisposeAsync();

    private Dictionary<string, string?> PgArchiveSettings => new()
    {
        ["WALG_FILE_PREFIX"] = _workspace.ArchiveDirectory,
        ["WALG_LIBSODIUM_KEY"] = _keyHex,
        ["WALG_LIBSODIUM_KEY_TRANSFORM"] = "hex",
    };

    /// <summary>
    /// archive_command as WAL-G's wal-push stores a segment: <c>wal_005/NAME.lz4</c>, an LZ4 frame encrypted with
    /// libsodium's secretstream in WAL-G's framing; the key reaches it through the server's environment.
    /// </summary>
    private string WriteWalPushScript()
    {
        var python = Path.Combine(_workspace.Root, "walg_secretstream.py");
        File.Copy(Path.Combine(AppContext.BaseDirectory, "Interop", "walg_secretstream.py"), python);
        var script = Path.Combine(_workspace.Root, "walg-wal-push.sh");
        File.WriteAllText(script, $"""
            #!/bin/sh
            set -e
            dest="{_workspace.ArchiveDirectory}/wal_005/$2.lz4"
            mkdir -p "{_workspace.ArchiveDirectory}/wal_005"
            /usr/bin/lz4 -q -c "$1" | /usr/bin/python3 "{python}" encrypt > "$dest.tmp"
            mv "$dest.tmp" "$dest"

            """);
        return script;
    }

    [Fact]
    public async Task Walg_shaped_full_and_deltas_are_listed_restored_to_a_restore_point_and_deleted_by_pgarchive()
    {
        var script = WriteWalPushScript();
        var tablespace = _workspace.CreateDirectory("tablespace");
        ProcessRunner.GiveToOsUser(_workspace.Root);
        var environment = new Dictionary<string, string?> { ["WALG_TEST_LIBSODIUM_KEY_HEX"] = _keyHex };
        var archiveCommand = $"sh \"{script}\" \"%p\" \"%f\"";
        await using var source = await PostgresCluster.StartAsync(_workspace.PathFor("source"), archiveCommand, environment);
        await source.ExecuteAsync($"CREATE TABLESPACE walg LOCATION '{tablespace}'");
        await source.ExecuteAsync("CREATE TABLE in_tablespace (id int PRIMARY KEY, filler text) TABLESPACE walg");
        await source.ExecuteAsync("INSERT INTO in_tablespace SELECT g, repeat('x', 200) FROM generate_series(1, 20000) g");
        await source.ExecuteAsync("CREATE TABLE marker (id int PRIMARY KEY)");
        await source.PgbenchAsync("-i", "-s", "1", "-q");

        await using var database = NpgsqlDataSource.Create($"Host=127.0.0.1;Port={source.Port};Username=postgres;Database=postgres;Pooling=false");
        var walg = new WalGBackupPush(_workspace.ArchiveDirectory, OracleCodec.Libsodium(_keyHex), database);
        var full = await walg.PushAsync(source.DataDirectory);
        await source.PgbenchAsync("-t", "200", "-n");
        await source.ExecuteAsync("UPDATE in_tablespace SET filler = repeat('y', 100) WHERE id % 40 = 0");
        var delta1 = await walg.PushAsync(source.DataDirectory, full);
        await source.PgbenchAsync("-t", "200", "-n");
        await source.ExecuteAsync("INSERT INTO in_tablespace SELECT g, 'z' FROM generate_series(20001, 20300) g");
        var delta2 = await walg.PushAsync(source.DataDirectory, delta1, WalGLayout.SentinelFileList);

        await source.ExecuteAsync("INSERT INTO marker VALUES (1), (2), (3)");
        var expected = await source.ScalarAsync<string>(State);
        await source.ExecuteAsync($"SELECT pg_create_restore_point('{RestorePoint}')");
        await source.ExecuteAsync("INSERT INTO marker VALUES (4), (5), (6)"); // after the restore point: must not be restored
        await source.ExecuteAsync("DELETE FROM in_tablespace");
        await source.SwitchWalAndWaitForArchiveAsync();
        await source.StopAndDeleteAsync();
        EmptyDirectory(tablespace);

        // What the oracle wrote is WAL-G's shape: increments and skipped files in delta 1's Files, no utility file there.
        var files = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(_workspace.ArchiveDirectory, "basebackups_005", delta1, "files_metadata.json"))).RootElement
            .GetProperty("Files").EnumerateObject().ToList();
        Assert.Contains(files, f => f.Value.GetProperty("IsIncremented").GetBoolean());
        Assert.Contains(files, f => f.Value.GetProperty("IsSkipped").GetBoolean());
        Assert.DoesNotContain(files, f => f.Name is "backup_label" or "/backup_label" or "tablespace_map" or "/global/pg_control");
        Assert.Contains(files, f => f.Name.StartsWith("/pg_tblspc/", StringComparison.Ordinal));
        Assert.False(File.Exists(Path.Combine(_workspace.ArchiveDirectory, "basebackups_005", delta2, "files_metadata.json")));

        ProcessRunner.GiveToOsUser(_workspace.ArchiveDirectory); // the oracle ran as root; pgarchive runs as the cluster's user
        var list = (await cli.RunAsync(PgArchiveSettings, "backup-list", "--json")).EnsureSuccess("backup-list --json");
        var names = JsonDocument.Parse(list.Stdout).RootElement.EnumerateArray().Select(b => b.GetProperty("backup_name").GetString()).ToList();
        Assert.Equal([full, delta1, delta2], names);

        // A WAL-G delta's Files lists no backup_label: it must be restored all the same (from the delta itself).
        var delta1Directory = _workspace.CreateDirectory("restored-delta1");
        (await cli.RunAsync(PgArchiveSettings, "backup-fetch", Path.Combine(delta1Directory, "data"), delta1)).EnsureSuccess("backup-fetch " + delta1);
        Assert.Contains("START WAL LOCATION", await File.ReadAllTextAsync(Path.Combine(delta1Directory, "data", "backup_label"), TestContext.Current.CancellationToken),
            StringComparison.Ordinal);
        EmptyDirectory(tablespace);

        var restoreDirectory = _workspace.CreateDirectory("restored");
        (await cli.RunAsync(PgArchiveSettings, "backup-fetch", Path.Combine(restoreDirectory, "data"), "LATEST",
            "--recovery-target-name", RestorePoint, "--recovery-target-action", "promote")).EnsureSuccess("backup-fetch LATEST");
        Assert.True(File.Exists(Path.Combine(restoreDirectory, "data", "backup_label")), "backup_label of the restored delta must be restored");
        Assert.Equal(tablespace, new DirectoryInfo(Path.Combine(restoreDirectory, "data", "pg_tblspc")).EnumerateFileSystemInfos().Single().LinkTarget);
        await using (var restored = await PostgresCluster.StartAsync(restoreDirectory, "true", new Dictionary<string, string?>()))
        {
            await restored.WaitUntilPromotedAsync(TimeSpan.FromMinutes(3));
            Assert.Equal(expected, await restored.ScalarAsync<string>(State));
            await restored.ExecuteAsync("SELECT count(*) FROM pgbench_accounts a JOIN pgbench_branches b USING (bid)");
            await restored.StopAsync();
        }

        (await cli.RunAsync(PgArchiveSettings, "delete", "everything", "FORCE", "--confirm")).EnsureSuccess("delete everything FORCE");
        Assert.Empty(Directory.GetFiles(Path.Combine(_workspace.ArchiveDirectory, "basebackups_005"), "*_backup_stop_sentinel.json"));
        var after = (await cli.RunAsync(PgArchiveSettings, "backup-list", "--json")).EnsureSuccess("backup-list after delete");
        Assert.Empty(JsonDocument.Parse(string.IsNullOrWhiteSpace(after.Stdout) ? "[]" : after.Stdout).RootElement.EnumerateArray());
    }

    private static void EmptyDirectory(string directory)
    {
        foreach (var entry in Directory.EnumerateFileSystemEntries(directory))
        {
            Directory.Delete(entry, recursive: true);
        }
    }
}
