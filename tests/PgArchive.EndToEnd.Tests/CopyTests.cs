namespace PgArchive.EndToEnd;

/// <summary>
/// copy end to end, with real PostgreSQL 15 and the CLI: a full backup and a delta on it, taken while pgbench writes, copied
/// with the WAL through a later restore point from one local-filesystem archive to another; the source archive deleted;
/// the copy restores to the restore point with exactly the rows of that moment. A rerun copies nothing.
/// </summary>
public sealed class CopyTests(PgArchiveCli cli) : IAsyncLifetime
{
    private const string State =
        "SELECT (SELECT count(*) || ':' || sum(abalance) FROM pgbench_accounts) || '/' || (SELECT count(*) || ':' || sum(delta) FROM pgbench_history) || '/' || " +
        "(SELECT coalesce(string_agg(id::text, ',' ORDER BY id), '') FROM marker)";

    private readonly ArchiveWorkspace _workspace = new();

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync() => _workspace.DisposeAsync();

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private string ArchiveCommand => $"\"{cli.Executable}\" wal-push \"%p\"";

    private static Dictionary<string, string?> NoSettings => [];

    private string ConfigFile(string name, string prefix)
    {
        var path = _workspace.PathFor(name);
        File.WriteAllText(path, System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, string> { ["WALG_FILE_PREFIX"] = prefix }));
        return path;
    }

    [Fact]
    public async Task A_delta_copied_with_its_history_restores_from_the_copy_alone_to_a_restore_point_with_exact_rows()
    {
        var settings = _workspace.FileArchiveSettings;
        var copyDirectory = _workspace.CreateDirectory("copy");
        var from = ConfigFile("from.json", _workspace.ArchiveDirectory);
        var to = ConfigFile("to.json", copyDirectory);
        await using var source = await PostgresCluster.StartAsync(_workspace.PathFor("source"), ArchiveCommand, settings);
        await source.PgbenchAsync("-i", "-s", "1", "-q");
        var push = PitrScenario.Merge(settings, source.LibpqEnvironment);
        push["WALG_DELTA_MAX_STEPS"] = "1";
        var load = source.PgbenchAsync("-c", "2", "-T", "6", "-n");
        await Task.Delay(1000, Token);
        var full = (await cli.RunAsync(push, "backup-push", source.DataDirectory)).EnsureSuccess("backup-push (full) under pgbench").Stdout.Trim();
        await load;
        await source.PgbenchAsync("-c", "2", "-t", "200", "-n");
        var delta = (await cli.RunAsync(push, "backup-push", source.DataDirectory)).EnsureSuccess("backup-push (delta)").Stdout.Trim();
        Assert.Contains("_D_", delta, StringComparison.Ordinal);

        await source.ExecuteAsync("CREATE TABLE marker (id int PRIMARY KEY)");
        await source.ExecuteAsync("INSERT INTO marker VALUES (1), (2), (3)");
        var expected = await source.ScalarAsync<string>(State);
        await source.ExecuteAsync("SELECT pg_create_restore_point('copied')");
        await source.ExecuteAsync("INSERT INTO marker VALUES (4), (5), (6)");
        await source.ExecuteAsync("UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid <= 1000");
        await source.SwitchWalAndWaitForArchiveAsync();
        await source.StopAndDeleteAsync();

        var copied = (await cli.RunAsync(NoSettings, "copy", "--from", from, "--to", to, "-b", "LATEST", "--with-history")).EnsureSuccess("copy -b LATEST -w");
        Assert.Contains($"backups {full}, {delta}.", copied.Stderr, StringComparison.Ordinal);
        var rerun = (await cli.RunAsync(NoSettings, "copy", "-f", from, "-t", to, "-b", "LATEST", "-w")).EnsureSuccess("copy rerun");
        Assert.Contains("nothing to copy", rerun.Stderr, StringComparison.Ordinal);
        Directory.Delete(_workspace.ArchiveDirectory, recursive: true);

        var copySettings = new Dictionary<string, string?> { ["WALG_FILE_PREFIX"] = copyDirectory };
        var restoreDirectory = _workspace.CreateDirectory("restored");
        (await cli.RunAsync(copySettings, "backup-fetch", Path.Combine(restoreDirectory, "data"), "LATEST",
            "--recovery-target-name", "copied", "--recovery-target-action", "promote")).EnsureSuccess("backup-fetch LATEST from the copy to the restore point");
        await using var restored = await PostgresCluster.StartAsync(restoreDirectory, "true", copySettings);
        await restored.WaitUntilPromotedAsync(TimeSpan.FromMinutes(3));
        Assert.Equal(expected, await restored.ScalarAsync<string>(State));
    }

    [Fact]
    public async Task Copy_to_the_same_store_and_a_missing_config_file_are_one_line_configuration_errors()
    {
        var from = ConfigFile("from.json", _workspace.ArchiveDirectory);
        var same = ConfigFile("same.json", _workspace.ArchiveDirectory + "/");

        var toItself = await cli.RunAsync(NoSettings, "copy", "--from", from, "--to", same);
        var missing = await cli.RunAsync(NoSettings, "copy", "--from", from, "--to", _workspace.PathFor("absent.json"));

        Assert.Equal(2, toItself.ExitCode);
        Assert.Equal($"pgarchive: configuration error: --from and --to name the same store (file:{_workspace.ArchiveDirectory}): copy needs two different stores.", toItself.Stderr.Trim());
        Assert.Equal(2, missing.ExitCode);
        Assert.Equal($"pgarchive: configuration error: --to '{_workspace.PathFor("absent.json")}': no such config file.", missing.Stderr.Trim());
    }
}
