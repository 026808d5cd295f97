using System.Formats.Tar;
using System.Text;

namespace PgArchive.EndToEnd;

/// <summary>
/// backup-fetch and the directory it restores into: any path works for recovery (restore_command quoted for the
/// configuration file, the shell and PostgreSQL's % escapes), the files backup-fetch writes itself are never taken
/// from an archive, and an interrupted restore is named and restarted only when asked.
/// </summary>
public sealed class RestoreTargetTests(PgArchiveCli cli) : IAsyncLifetime
{
    private readonly ArchiveWorkspace _workspace = new();

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync() => _workspace.DisposeAsync();

    private string ArchiveCommand => $"\"{cli.Executable}\" wal-push \"%p\"";

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    /// <summary>A source cluster with 1000 rows in t and a backup of it; the caller stops it.</summary>
    private async Task<(PostgresCluster Source, string Backup)> BackupAsync()
    {
        var source = await PostgresCluster.StartAsync(_workspace.PathFor("source"), ArchiveCommand, _workspace.FileArchiveSettings);
        await source.ExecuteAsync("CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 1000) g");
        var backup = (await cli.RunAsync(PitrScenario.Merge(_workspace.FileArchiveSettings, source.LibpqEnvironment), "backup-push", source.DataDirectory))
            .EnsureSuccess("backup-push").Stdout.Trim();
        return (source, backup);
    }

    [Theory]
    [InlineData("wal 100%full and %p")]
    [InlineData("it's a \"100%\" back\\slash ünïcødé $HOME `id` dir")]
    public async Task Pitr_restore_recovers_in_a_directory_whose_path_needs_quoting(string name)
    {
        var (source, _) = await BackupAsync();
        await using (source)
        {
            await source.ExecuteAsync("INSERT INTO t SELECT g FROM generate_series(1001, 2000) g");
            await source.ExecuteAsync("SELECT pg_create_restore_point('h2_before_3000')");
            await source.ExecuteAsync("INSERT INTO t SELECT g FROM generate_series(2001, 3000) g");
            await source.SwitchWalAndWaitForArchiveAsync();
            await source.StopAndDeleteAsync();
        }

        var odd = Path.Combine(_workspace.CreateDirectory("odd"), name);
        (await cli.RunAsync(_workspace.FileArchiveSettings, "backup-fetch", odd, "LATEST", "--recovery-target-name", "h2_before_3000",
            "--recovery-target-action", "promote")).EnsureSuccess("backup-fetch into " + odd);

        // The recipe's own settings cannot hold such a path (its socket directory): the cluster directory is a plain one
        // whose data/ is a link to the restored directory, whose path restore_command holds.
        var cluster = _workspace.CreateDirectory("restored");
        File.CreateSymbolicLink(Path.Combine(cluster, "data"), odd);
        await using var restored = await PostgresCluster.StartAsync(cluster, ArchiveCommand, _workspace.FileArchiveSettings);
        await restored.WaitUntilPromotedAsync(TimeSpan.FromMinutes(3));

        Assert.Equal(2000L, await restored.ScalarAsync<long>("SELECT count(*) FROM t"));
        Assert.Contains(File.ReadLines(Path.Combine(cluster, "postgres.log")), l => l.Contains("restored log file", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Backup_fetch_never_takes_its_own_files_from_a_forged_partition()
    {
        var (source, backup) = await BackupAsync();
        await using (source)
        {
            await source.StopAndDeleteAsync();
        }

        // A bucket writer adds a partition holding the settings restore_command reads, and standby.signal.
        var forged = Path.Combine(_workspace.ArchiveDirectory, "basebackups_005", backup, "tar_partitions", "part_900.tar");
        await using (var file = File.Create(forged))
        await using (var writer = new TarWriter(file, TarEntryFormat.Pax))
        {
            foreach (var (member, text) in new[] { ("/pgarchive.restore.json", """{"WALG_FILE_PREFIX": "/tmp/attacker"}"""), ("standby.signal", "") })
            {
                await writer.WriteEntryAsync(new PaxTarEntry(TarEntryType.RegularFile, member) { DataStream = new MemoryStream(Encoding.UTF8.GetBytes(text)) }, Token);
            }
        }

        ProcessRunner.GiveToOsUser(forged);
        var restoreDirectory = Path.Combine(_workspace.CreateDirectory("restored"), "data");
        var fetch = await cli.RunAsync(_workspace.FileArchiveSettings, "backup-fetch", restoreDirectory, "LATEST", "--recovery");

        fetch.EnsureSuccess("backup-fetch");
        var settings = await File.ReadAllTextAsync(Path.Combine(restoreDirectory, "pgarchive.restore.json"), Token);
        Assert.Contains(_workspace.ArchiveDirectory, settings, StringComparison.Ordinal);
        Assert.DoesNotContain("attacker", settings, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(restoreDirectory, "standby.signal")));
        Assert.True(File.Exists(Path.Combine(restoreDirectory, "recovery.signal")));
        Assert.Contains("Skipped /pgarchive.restore.json", fetch.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rerun_after_an_interrupted_restore_names_it_and_restarts_only_when_asked()
    {
        var (source, _) = await BackupAsync();
        await using (source)
        {
            await source.SwitchWalAndWaitForArchiveAsync();
            await source.StopAndDeleteAsync();
        }

        // What kill -9 leaves: the restored files so far and the marker, but no pg_control (restored last).
        var restoreDirectory = Path.Combine(_workspace.CreateDirectory("restored"), "data");
        (await cli.RunAsync(_workspace.FileArchiveSettings, "backup-fetch", restoreDirectory, "LATEST")).EnsureSuccess("backup-fetch");
        var marker = Path.Combine(restoreDirectory, "PGARCHIVE_RESTORE_INCOMPLETE");
        await File.WriteAllTextAsync(marker, "pgarchive backup-fetch of base_000000010000000000000002 started at 2026-11-20T10:00:00.0000000+00:00 and has not finished: do not start PostgreSQL here.\n", Token);
        File.Delete(Path.Combine(restoreDirectory, "global", "pg_control"));
        ProcessRunner.GiveToOsUser(restoreDirectory);

        var refused = await cli.RunAsync(_workspace.FileArchiveSettings, "backup-fetch", restoreDirectory, "LATEST", "--recovery");

        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("interrupted restore", refused.Stderr, StringComparison.Ordinal);
        Assert.Contains("started at 2026-11-20T10:00:00.0000000+00:00", refused.Stderr, StringComparison.Ordinal);
        Assert.Contains("--restart-interrupted", refused.Stderr, StringComparison.Ordinal);
        Assert.Single(refused.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.True(File.Exists(marker));

        (await cli.RunAsync(_workspace.FileArchiveSettings, "backup-fetch", restoreDirectory, "LATEST", "--recovery", "--restart-interrupted"))
            .EnsureSuccess("backup-fetch --restart-interrupted");
        Assert.False(File.Exists(marker));
        await using var restored = await PostgresCluster.StartAsync(Path.GetDirectoryName(restoreDirectory)!, ArchiveCommand, _workspace.FileArchiveSettings);
        await restored.WaitUntilPromotedAsync(TimeSpan.FromMinutes(3));
        Assert.Equal(1000L, await restored.ScalarAsync<long>("SELECT count(*) FROM t"));
    }
}
