namespace PgArchive.EndToEnd;

/// <summary>
/// copy's scenario, for any two stores: a full backup taken while pgbench writes and a delta on it, a restore point
/// after them, <c>copy -b LATEST --with-history</c> with <c>copyOptions</c> (then a rerun that copies nothing), the
/// source archive removed (<c>st rm</c>), and a restore from the copy alone to the restore point. <c>beforeCopy</c>
/// gets the two config files once the source archive is complete. Returns the rows at the restore point on the source
/// and on the restored cluster.
/// </summary>
internal static class CopyScenario
{
    private const string State =
        "SELECT (SELECT count(*) || ':' || sum(abalance) FROM pgbench_accounts) || '/' || (SELECT count(*) || ':' || sum(delta) FROM pgbench_history) || '/' || " +
        "(SELECT coalesce(string_agg(id::text, ',' ORDER BY id), '') FROM marker)";

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    /// <summary>Settings handed to copy only through its two config files.</summary>
    private static Dictionary<string, string?> NoSettings => [];

    public static async Task<(string Expected, string Restored)> RunAsync(PgArchiveCli cli, ArchiveWorkspace workspace,
        Dictionary<string, string?> source, Dictionary<string, string?> destination, Func<string, string, Task>? beforeCopy = null, params string[] copyOptions)
    {
        var from = ConfigFile(workspace, "from.json", source);
        var to = ConfigFile(workspace, "to.json", destination);
        await using var cluster = await PostgresCluster.StartAsync(workspace.PathFor("source"), $"\"{cli.Executable}\" wal-push \"%p\"", source);
        await cluster.PgbenchAsync("-i", "-s", "1", "-q");
        var push = PitrScenario.Merge(source, cluster.LibpqEnvironment);
        push["WALG_DELTA_MAX_STEPS"] = "1";
        var load = cluster.PgbenchAsync("-c", "2", "-T", "6", "-n");
        await Task.Delay(1000, Token);
        var full = (await cli.RunAsync(push, "backup-push", cluster.DataDirectory)).EnsureSuccess("backup-push (full) under pgbench").Stdout.Trim();
        await load;
        await cluster.PgbenchAsync("-c", "2", "-t", "200", "-n");
        var delta = (await cli.RunAsync(push, "backup-push", cluster.DataDirectory)).EnsureSuccess("backup-push (delta)").Stdout.Trim();
        Assert.Contains("_D_", delta, StringComparison.Ordinal);

        await cluster.ExecuteAsync("CREATE TABLE marker (id int PRIMARY KEY)");
        await cluster.ExecuteAsync("INSERT INTO marker VALUES (1), (2), (3)");
        var expected = await cluster.ScalarAsync<string>(State);
        await cluster.ExecuteAsync("SELECT pg_create_restore_point('copied')");
        await cluster.ExecuteAsync("INSERT INTO marker VALUES (4), (5), (6)");
        await cluster.ExecuteAsync("UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid <= 1000");
        await cluster.SwitchWalAndWaitForArchiveAsync();
        await cluster.StopAndDeleteAsync();
        if (beforeCopy is not null)
        {
            await beforeCopy(from, to);
        }

        var copied = (await cli.RunAsync(NoSettings, ["copy", "--from", from, "--to", to, "-b", "LATEST", "--with-history", .. copyOptions])).EnsureSuccess("copy -b LATEST -w");
        Assert.Contains($"backups {full}, {delta}.", copied.Stderr, StringComparison.Ordinal);
        var rerun = (await cli.RunAsync(NoSettings, ["copy", "-f", from, "-t", to, "-b", "LATEST", "-w", .. copyOptions])).EnsureSuccess("copy rerun");
        Assert.Contains("nothing to copy", rerun.Stderr, StringComparison.Ordinal);
        (await cli.RunAsync(source, "st", "rm", "basebackups_005")).EnsureSuccess("st rm basebackups_005 of the source");
        (await cli.RunAsync(source, "st", "rm", "wal_005")).EnsureSuccess("st rm wal_005 of the source");
        Assert.Equal("", (await cli.RunAsync(source, "backup-list")).EnsureSuccess("backup-list of the emptied source").Stdout.Trim());

        var restoreDirectory = workspace.CreateDirectory("restored");
        (await cli.RunAsync(destination, "backup-fetch", Path.Combine(restoreDirectory, "data"), "LATEST",
            "--recovery-target-name", "copied", "--recovery-target-action", "promote")).EnsureSuccess("backup-fetch LATEST from the copy to the restore point");
        await using var restored = await PostgresCluster.StartAsync(restoreDirectory, "true", destination);
        await restored.WaitUntilPromotedAsync(TimeSpan.FromMinutes(3));
        return (expected, await restored.ScalarAsync<string>(State));
    }

    /// <summary>A WAL-G JSON config file holding <paramref name="settings"/>.</summary>
    public static string ConfigFile(ArchiveWorkspace workspace, string name, IReadOnlyDictionary<string, string?> settings)
    {
        var path = workspace.PathFor(name);
        File.WriteAllText(path, System.Text.Json.JsonSerializer.Serialize(settings.Where(s => s.Value is not null).ToDictionary(s => s.Key, s => s.Value!)));
        return path;
    }
}
