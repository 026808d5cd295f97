using System.Diagnostics;
using System.Globalization;

namespace PgArchive.EndToEnd;

/// <summary>What a PITR scenario measured and found.</summary>
public sealed record PitrReport(
    string BackupName, TimeSpan BackupPushTime, TimeSpan BackupFetchTime, long PgbenchAccounts, long RestoredAccounts,
    IReadOnlyList<int> MarkersBefore, IReadOnlyList<int> MarkersRestored, int SegmentsFetched);

/// <summary>
/// The walking skeleton's scenario, reusable for every storage backend: a cluster archiving through
/// <c>pgarchive wal-push</c>, pgbench data, <c>backup-push</c>, marker rows before and after an instant T,
/// the cluster destroyed, <c>backup-fetch LATEST --recovery-target-time T</c>, PostgreSQL started on the
/// restored directory, rows verified. The archive is configured only by <c>settings</c> (environment
/// variables, as a WAL-G user configures it).
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public static class PitrScenario
{
    /// <summary>Runs the scenario; throws (with the server log) when verification fails.</summary>
    public static async Task<PitrReport> RunAsync(PgArchiveCli cli, ArchiveWorkspace workspace, IReadOnlyDictionary<string, string?> settings, int pgbenchScale = 1)
    {
        var archiveCommand = $"\"{cli.Executable}\" wal-push \"%p\"";
        var source = await PostgresCluster.StartAsync(workspace.PathFor("source"), archiveCommand, settings);
        await using (source)
        {
            await source.PgbenchAsync("-i", "-s", pgbenchScale.ToString(CultureInfo.InvariantCulture), "-q");
            var watch = Stopwatch.StartNew();
            var push = await cli.RunAsync(Merge(settings, source.LibpqEnvironment), "backup-push", source.DataDirectory);
            push.EnsureSuccess("backup-push");
            var pushTime = watch.Elapsed;

            await source.ExecuteAsync("CREATE TABLE marker (id int PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp())");
            foreach (var id in new[] { 1, 2, 3 })
            {
                await source.ExecuteAsync($"INSERT INTO marker (id) VALUES ({id})");
            }

            await Task.Delay(1100);
            var target = await source.ScalarAsync<DateTime>("SELECT clock_timestamp()");
            await Task.Delay(1100);
            foreach (var id in new[] { 4, 5, 6 })
            {
                await source.ExecuteAsync($"INSERT INTO marker (id) VALUES ({id})");
            }

            await source.ExecuteAsync("UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid <= 1000"); // after T: must not be restored
            await source.SwitchWalAndWaitForArchiveAsync();
            var accounts = await source.ScalarAsync<long>("SELECT count(*) FROM pgbench_accounts");
            await source.StopAndDeleteAsync();

            var restoreDirectory = workspace.CreateDirectory("restored");
            var targetText = target.ToString("yyyy-MM-dd HH:mm:ss.ffffff", CultureInfo.InvariantCulture) + "+00";
            watch.Restart();
            var fetch = await cli.RunAsync(settings, "backup-fetch", Path.Combine(restoreDirectory, "data"), "LATEST",
                "--recovery-target-time", targetText, "--recovery-target-action", "promote");
            fetch.EnsureSuccess("backup-fetch");
            var fetchTime = watch.Elapsed;

            var restored = await PostgresCluster.StartAsync(restoreDirectory, archiveCommand, settings);
            await using (restored)
            {
                await restored.WaitUntilPromotedAsync(TimeSpan.FromMinutes(3));
                var restoredAccounts = await restored.ScalarAsync<long>("SELECT count(*) FROM pgbench_accounts");
                var changedAfterTarget = await restored.ScalarAsync<long>("SELECT count(*) FROM pgbench_accounts WHERE aid <= 1000 AND abalance <> 0");
                var markers = await restored.ScalarAsync<int[]>("SELECT coalesce(array_agg(id ORDER BY id), '{}') FROM marker");
                var fetched = File.ReadLines(Path.Combine(restoreDirectory, "postgres.log")).Count(l => l.Contains("restored log file", StringComparison.Ordinal));
                var report = new PitrReport(push.Stdout.Trim(), pushTime, fetchTime, accounts, restoredAccounts, [1, 2, 3], markers, fetched);
                if (restoredAccounts != accounts || !markers.SequenceEqual([1, 2, 3]) || changedAfterTarget != 0)
                {
                    throw new InvalidOperationException(
                        $"PITR verification failed: accounts {restoredAccounts}/{accounts}, markers [{string.Join(',', markers)}] (want 1,2,3), " +
                        $"{changedAfterTarget} accounts changed after T.\n{restored.LogTail()}");
                }

                return report;
            }
        }
    }

    /// <summary>Two settings dictionaries in one; the second wins.</summary>
    public static Dictionary<string, string?> Merge(IReadOnlyDictionary<string, string?> first, IReadOnlyDictionary<string, string?> second)
    {
        var merged = new Dictionary<string, string?>(first);
        foreach (var (name, value) in second)
        {
            merged[name] = value;
        }

        return merged;
    }
}
