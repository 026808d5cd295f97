using System.Globalization;
using System.Text.Json;

namespace PgArchive.EndToEnd;

/// <summary>
/// Delta backups against real PostgreSQL 15: a full backup, pgbench writes, delta 1, more writes (a new table,
/// a dropped table, VACUUM FULL rewriting files, a truncated relation), delta 2, then PITR from the chain to a
/// time between the deltas and to one after the last, in the default order (newest first), with --forward-unpack and
/// with WAL-G's --reverse-unpack; rows checked each time.
/// </summary>
public sealed class DeltaBackupTests(PgArchiveCli cli) : IAsyncLifetime
{
    private const string State =
        "SELECT (SELECT count(*) FROM pgbench_history) || '/' || (SELECT sum(abalance) FROM pgbench_accounts) || '/' || " +
        "(SELECT count(*) FROM pgbench_accounts) || '/' || coalesce((SELECT count(*)::text FROM pg_class WHERE relname = 'newtab'), '-') || '/' || " +
        "(SELECT count(*) FROM pg_class WHERE relname = 'dropme') || '/' || (SELECT count(*) FROM trunc)";

    private readonly ArchiveWorkspace _workspace = new();

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync() => _workspace.DisposeAsync();

    private string ArchiveCommand => $"\"{cli.Executable}\" wal-push \"%p\"";

    private Dictionary<string, string?> Settings
    {
        get
        {
            var settings = _workspace.FileArchiveSettings;
            settings["WALG_DELTA_MAX_STEPS"] = "2";
            return settings;
        }
    }

    private JsonElement Sentinel(string name) =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(_workspace.ArchiveDirectory, "basebackups_005", name + "_backup_stop_sentinel.json"))).RootElement;

    private static async Task<string> TimeAsync(PostgresCluster cluster)
    {
        await Task.Delay(1100);
        var at = await cluster.ScalarAsync<DateTime>("SELECT clock_timestamp()");
        await Task.Delay(1100);
        return at.ToString("yyyy-MM-dd HH:mm:ss.ffffff", CultureInfo.InvariantCulture) + "+00";
    }

    [Fact]
    public async Task Delta_chain_restores_to_times_between_and_after_the_deltas_forward_and_reverse()
    {
        var settings = Settings;
        await using var source = await PostgresCluster.StartAsync(_workspace.PathFor("source"), ArchiveCommand, settings);
        var push = PitrScenario.Merge(settings, source.LibpqEnvironment);
        await source.PgbenchAsync("-i", "-s", "2", "-q");
        await source.ExecuteAsync("CREATE TABLE dropme AS SELECT g AS id FROM generate_series(1, 20000) g");
        await source.ExecuteAsync("CREATE TABLE trunc AS SELECT g AS id FROM generate_series(1, 20000) g");
        var full = (await cli.RunAsync(push, "backup-push", source.DataDirectory)).EnsureSuccess("full").Stdout.Trim();
        Assert.Matches("^base_[0-9A-F]{24}$", full);

        await source.PgbenchAsync("-t", "300", "-n");
        var delta1 = (await cli.RunAsync(push, "backup-push", source.DataDirectory)).EnsureSuccess("delta 1").Stdout.Trim();
        Assert.Equal(full[5..], delta1[^24..]);
        Assert.Matches("^base_[0-9A-F]{24}_D_[0-9A-F]{24}$", delta1);

        var dropped = await source.ScalarAsync<string>("SELECT pg_relation_filepath('dropme')");
        await source.ExecuteAsync("CREATE TABLE newtab AS SELECT g AS id FROM generate_series(1, 5000) g");
        await source.ExecuteAsync("DROP TABLE dropme");
        await source.PgbenchAsync("-t", "200", "-n");
        await source.ExecuteAsync("VACUUM FULL pgbench_accounts");
        await source.ExecuteAsync("TRUNCATE trunc");
        await source.ExecuteAsync("INSERT INTO trunc SELECT g FROM generate_series(1, 7) g");
        var betweenState = await source.ScalarAsync<string>(State);
        var between = await TimeAsync(source);
        await source.ExecuteAsync("INSERT INTO trunc SELECT g FROM generate_series(100, 104) g"); // after T1, before delta 2

        var delta2 = (await cli.RunAsync(push, "backup-push", source.DataDirectory)).EnsureSuccess("delta 2").Stdout.Trim();
        Assert.EndsWith("_D_" + delta1[5..29], delta2, StringComparison.Ordinal);
        var sentinel = Sentinel(delta2);
        Assert.Equal(delta1, sentinel.GetProperty("DeltaFrom").GetString());
        Assert.Equal(full, sentinel.GetProperty("DeltaFullName").GetString());
        Assert.Equal(2, sentinel.GetProperty("DeltaCount").GetInt32());
        Assert.Equal(Sentinel(delta1).GetProperty("LSN").GetUInt64(), sentinel.GetProperty("DeltaLSN").GetUInt64());
        Assert.True(Sentinel(delta1).GetProperty("CompressedSize").GetInt64() < Sentinel(full).GetProperty("CompressedSize").GetInt64() / 2,
            "delta 1 should store far less than the full backup");
        var filesMetadata = File.ReadAllText(Path.Combine(_workspace.ArchiveDirectory, "basebackups_005", delta1, "files_metadata.json"));
        Assert.Matches("\"IsIncremented\":\\s*true", filesMetadata);
        Assert.Matches("\"IsSkipped\":\\s*true", filesMetadata);

        await source.PgbenchAsync("-t", "100", "-n");
        await source.ExecuteAsync("INSERT INTO newtab SELECT g FROM generate_series(1, 10) g");
        var afterState = await source.ScalarAsync<string>(State);
        var after = await TimeAsync(source);
        await source.ExecuteAsync("DELETE FROM newtab"); // after T2: must not be restored

        // The chain is at its maximum: the next backup is full.
        var next = (await cli.RunAsync(push, "backup-push", source.DataDirectory)).EnsureSuccess("full again").Stdout.Trim();
        Assert.Matches("^base_[0-9A-F]{24}$", next);
        await source.SwitchWalAndWaitForArchiveAsync();
        await source.StopAndDeleteAsync();

        Assert.Equal(betweenState, await RestoreAsync("between", delta1, between, order: "--forward-unpack", droppedFile: null));
        Assert.Equal(afterState, await RestoreAsync("after", delta2, after, order: null, dropped));
        Assert.Equal(afterState, await RestoreAsync("after-forward", delta2, after, order: "--forward-unpack", dropped));
        Assert.Equal(afterState, await RestoreAsync("after-reverse", delta2, after, order: "--reverse-unpack", dropped));

        // Retention and marks understand chains: keeping delta 2 but not its bases is refused; FULL counts chains.
        string[] all = [full, delta1, delta2, next];
        var retain2 = await cli.RunAsync(Settings, "delete", "retain", "2", "--confirm");
        Assert.NotEqual(0, retain2.ExitCode);
        (await cli.RunAsync(Settings, "delete", "retain", "FULL", "2", "--confirm")).EnsureSuccess("delete retain FULL 2");
        Assert.All(all, b => Assert.True(File.Exists(SentinelPath(b)), $"{b} must survive"));
        (await cli.RunAsync(Settings, "backup-mark", delta2)).EnsureSuccess("backup-mark");
        Assert.All([full, delta1, delta2], b => Assert.True(Metadata(b).GetProperty("is_permanent").GetBoolean(), $"{b} must be permanent"));
        (await cli.RunAsync(Settings, "delete", "retain", "FULL", "1", "--confirm")).EnsureSuccess("delete retain FULL 1");
        Assert.All(all, b => Assert.True(File.Exists(SentinelPath(b)), $"{b} must survive: its chain is permanent"));
    }

    private string SentinelPath(string name) => Path.Combine(_workspace.ArchiveDirectory, "basebackups_005", name + "_backup_stop_sentinel.json");

    private JsonElement Metadata(string name) =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(_workspace.ArchiveDirectory, "basebackups_005", name, "metadata.json"))).RootElement;

    /// <summary>Restores <paramref name="backup"/> with <paramref name="order"/> (a flag choosing the delta chain's order; null for the default).</summary>
    private async Task<string> RestoreAsync(string label, string backup, string targetTime, string? order, string? droppedFile)
    {
        var directory = _workspace.CreateDirectory(label);
        string[] args = ["backup-fetch", Path.Combine(directory, "data"), backup, "--recovery-target-time", targetTime, "--recovery-target-action", "promote"];
        (await cli.RunAsync(Settings, order is null ? args : [.. args, order])).EnsureSuccess("backup-fetch " + label);
        if (droppedFile is not null)
        {
            Assert.False(File.Exists(Path.Combine(directory, "data", droppedFile)), $"{droppedFile} was dropped before the restored backup and must not be restored");
        }

        // Restored clusters do not archive: a promoted one would put its timeline's history into the archive the next restore reads.
        await using var restored = await PostgresCluster.StartAsync(directory, "true", _workspace.FileArchiveSettings);
        await restored.WaitUntilPromotedAsync(TimeSpan.FromMinutes(3));
        var state = await restored.ScalarAsync<string>(State);
        await restored.ExecuteAsync("SELECT count(*) FROM pgbench_accounts a JOIN pgbench_branches b USING (bid)"); // reads every page
        return state;
    }
}
