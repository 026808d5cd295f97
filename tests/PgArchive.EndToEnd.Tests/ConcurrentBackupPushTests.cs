using System.Globalization;
using System.Text.Json;

namespace PgArchive.EndToEnd;

/// <summary>
/// Two backup-push at the same moment against one archive, with real PostgreSQL 15 and the CLI. Backups that start in
/// the same WAL segment get the same name (PostgreSQL gives simultaneous starts distinct LSNs in one segment, and a
/// standby repeats its start until its next restartpoint): exactly one run may write that backup; the other fails
/// with one line, and nothing either run lists is damaged. A resumed run never takes over a backup still being written.
/// The pgbench rounds run <c>PGARCHIVE_E2E_CONCURRENT_ROUNDS</c> times (default 5).
/// </summary>
public sealed class ConcurrentBackupPushTests(PgArchiveCli cli) : IAsyncLifetime
{
    /// <summary>Rounds of the pgbench test; <c>PGARCHIVE_E2E_CONCURRENT_ROUNDS</c> asks for more.</summary>
    private static readonly int Rounds = int.TryParse(Environment.GetEnvironmentVariable("PGARCHIVE_E2E_CONCURRENT_ROUNDS"), out var rounds) && rounds > 0 ? rounds : 5;

    private const string State =
        "SELECT (SELECT count(*) || ':' || sum(abalance) FROM pgbench_accounts) || '/' || (SELECT count(*) || ':' || sum(delta) FROM pgbench_history) || '/' || " +
        "(SELECT sum(tbalance) FROM pgbench_tellers) || '/' || (SELECT coalesce(string_agg(id::text, ',' ORDER BY id), '') FROM marker)";

    private readonly ArchiveWorkspace _workspace = new();

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync() => _workspace.DisposeAsync();

    private string ArchiveCommand => $"\"{cli.Executable}\" wal-push \"%p\"";

    private string BackupsDirectory => Path.Combine(_workspace.ArchiveDirectory, "basebackups_005");

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Two_backup_push_at_once_on_a_standby_write_one_backup_and_the_other_fails_with_one_line()
    {
        var settings = _workspace.FileArchiveSettings;
        await using var primary = await PostgresCluster.StartAsync(_workspace.PathFor("primary"), ArchiveCommand, settings);
        await primary.PgbenchAsync("-i", "-s", "2", "-q");
        await using var standby = await PostgresCluster.StartStandbyAsync(_workspace.PathFor("standby"), primary);
        var push = PitrScenario.Merge(settings, standby.LibpqEnvironment);
        push["WALG_TAR_SIZE_THRESHOLD"] = (1 << 20).ToString(CultureInfo.InvariantCulture);
        push["WALG_UPLOAD_CONCURRENCY"] = "1"; // a few seconds of partitions: the two runs overlap

        // An idle standby starts every backup at its last restartpoint: both runs get the same name.
        var runs = await Task.WhenAll(
            cli.RunAsync(push, "backup-push", standby.DataDirectory),
            cli.RunAsync(push, "backup-push", standby.DataDirectory));

        var names = AssertOwnBackupOrOneLineFailure(runs);
        var name = Assert.Single(names);
        var loser = Assert.Single(runs, r => r.ExitCode != 0);
        Assert.Contains(name, loser.Stderr, StringComparison.Ordinal);
        Assert.Equal([name], await VerifyListedBackupsAsync(settings));
        Assert.False(File.Exists(Path.Combine(BackupsDirectory, name, "pgarchive_progress.json")), "a complete backup keeps no claim");
    }

    [Fact]
    public async Task Simultaneous_backup_push_under_pgbench_each_get_their_own_backup_or_fail_with_one_line_and_the_newest_restores()
    {
        var settings = _workspace.FileArchiveSettings;
        await using var source = await PostgresCluster.StartAsync(_workspace.PathFor("source"), ArchiveCommand, settings);
        await source.PgbenchAsync("-i", "-s", "3", "-q");
        var push = PitrScenario.Merge(settings, source.LibpqEnvironment);
        push["WALG_TAR_SIZE_THRESHOLD"] = "8000000";

        var succeeded = new List<string>();
        int collisions = 0, bothOwn = 0;
        for (var round = 1; round <= Rounds; round++)
        {
            var load = source.PgbenchAsync("-c", "2", "-T", "8", "-n");
            await Task.Delay(1000, Token);
            var runs = await Task.WhenAll(
                cli.RunAsync(push, "backup-push", source.DataDirectory),
                cli.RunAsync(push, "backup-push", source.DataDirectory));
            await load;

            var names = AssertOwnBackupOrOneLineFailure(runs);
            Assert.NotEmpty(names);
            Assert.DoesNotContain(names, succeeded.Contains);
            succeeded.AddRange(names);
            var outcome = names.Count == 2 ? "two backups" : "one name: one backup, the other run failed";
            collisions += names.Count == 1 ? 1 : 0;
            bothOwn += names.Count == 2 ? 1 : 0;
            TestContext.Current.TestOutputHelper?.WriteLine(
                $"round {round}: {outcome}: {string.Join(", ", names)}{string.Concat(runs.Where(r => r.ExitCode != 0).Select(r => " | " + r.Stderr.Trim()))}");
        }

        TestContext.Current.TestOutputHelper?.WriteLine(
            $"{Rounds} rounds: {collisions} with one name (one backup, the other run failed with one line), {bothOwn} with two names (two backups)");
        Assert.Equal(succeeded.Order(StringComparer.Ordinal), await VerifyListedBackupsAsync(settings));

        // The newest backup restores to a restore point taken after the rounds, with exactly the rows of that moment.
        await source.ExecuteAsync("CREATE TABLE marker (id int PRIMARY KEY)");
        await source.ExecuteAsync("INSERT INTO marker VALUES (1), (2), (3)");
        var expected = await source.ScalarAsync<string>(State);
        await source.ExecuteAsync("SELECT pg_create_restore_point('after_the_rounds')");
        await source.ExecuteAsync("INSERT INTO marker VALUES (4), (5), (6)");
        await source.ExecuteAsync("UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid <= 1000");
        await source.SwitchWalAndWaitForArchiveAsync();
        await source.StopAndDeleteAsync();

        var restoreDirectory = _workspace.CreateDirectory("restored");
        (await cli.RunAsync(settings, "backup-fetch", Path.Combine(restoreDirectory, "data"), "LATEST",
            "--recovery-target-name", "after_the_rounds", "--recovery-target-action", "promote")).EnsureSuccess("backup-fetch LATEST to the restore point");
        await using var restored = await PostgresCluster.StartAsync(restoreDirectory, "true", settings);
        await restored.WaitUntilPromotedAsync(TimeSpan.FromMinutes(3));
        Assert.Equal(expected, await restored.ScalarAsync<string>(State));
    }

    [Fact]
    public async Task Resume_never_takes_partitions_from_a_backup_that_a_running_backup_push_is_still_writing()
    {
        var settings = _workspace.FileArchiveSettings;
        // While the flag exists, archive_command fails: a backup-push waits after pg_backup_stop, alive, its partitions stored.
        var flag = Path.Combine(_workspace.CreateDirectory("flags"), "hold-archiving");
        await using var source = await PostgresCluster.StartAsync(_workspace.PathFor("source"), $"test ! -e '{flag}' && {ArchiveCommand}", settings);
        await source.PgbenchAsync("-i", "-s", "1", "-q");
        await source.ExecuteAsync("CHECKPOINT");
        await Task.Delay(2500, Token); // files written well before they are read: reusable, if resume were to take them
        var push = PitrScenario.Merge(settings, source.LibpqEnvironment);
        push["WALG_TAR_SIZE_THRESHOLD"] = (1 << 20).ToString(CultureInfo.InvariantCulture);
        push["WALG_UPLOAD_CONCURRENCY"] = "1";

        await File.WriteAllTextAsync(flag, "", Token);
        var running = cli.RunAsync(push, "backup-push", source.DataDirectory);
        var first = await WaitForBackupAtStopAsync(except: null, running);
        var resumed = cli.RunAsync(push, "backup-push", "--resume", source.DataDirectory);
        var second = await WaitForBackupAtStopAsync(except: first, resumed);
        File.Delete(flag);
        await source.SwitchWalAndWaitForArchiveAsync();

        var firstRun = (await running).EnsureSuccess("the first backup-push");
        var resumedRun = (await resumed).EnsureSuccess("backup-push --resume");
        Assert.Equal(first, firstRun.Stdout.Trim());
        Assert.Equal(second, resumedRun.Stdout.Trim());
        Assert.DoesNotContain("resumed from", resumedRun.Stderr, StringComparison.Ordinal);
        Assert.Contains($"{first} is still being written by a running backup-push", resumedRun.Stderr, StringComparison.Ordinal);
        Assert.Equal(new[] { first, second }.Order(StringComparer.Ordinal), await VerifyListedBackupsAsync(settings));
    }

    /// <summary>
    /// Every run either succeeded with a backup of its own (names distinct) or failed with exit 1 and one line on stderr
    /// that says another backup-push holds the name; returns the names of the runs that succeeded.
    /// </summary>
    private static List<string> AssertOwnBackupOrOneLineFailure(IReadOnlyList<ProcessResult> runs)
    {
        var names = new List<string>();
        foreach (var run in runs)
        {
            if (run.ExitCode == 0)
            {
                var name = run.Stdout.Trim();
                Assert.Matches("^base_[0-9A-F]{24}$", name);
                Assert.DoesNotContain(name, names);
                names.Add(name);
                continue;
            }

            Assert.True(run.ExitCode == 1, $"a run that loses must exit 1, got {run.ExitCode}:\n{run.Stderr}");
            var lines = run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var line = Assert.Single(lines);
            Assert.StartsWith("pgarchive: error: ", line, StringComparison.Ordinal);
            Assert.Matches("base_[0-9A-F]{24}", line);
            Assert.Contains("another backup-push", line, StringComparison.Ordinal);
            Assert.DoesNotContain("unexpected error", line, StringComparison.Ordinal);
        }

        return names;
    }

    /// <summary>Every backup backup-list shows passes backup-verify; returns their names in order.</summary>
    private async Task<List<string>> VerifyListedBackupsAsync(IReadOnlyDictionary<string, string?> settings)
    {
        var list = (await cli.RunAsync(settings, "backup-list", "--json")).EnsureSuccess("backup-list");
        var names = JsonDocument.Parse(list.Stdout).RootElement.EnumerateArray().Select(b => b.GetProperty("backup_name").GetString()!).ToList();
        foreach (var name in names)
        {
            (await cli.RunAsync(settings, "backup-verify", name)).EnsureSuccess("backup-verify " + name);
        }

        return [.. names.Order(StringComparer.Ordinal)];
    }

    /// <summary>
    /// Waits until a backup other than <paramref name="except"/> has stored its pg_control partition (the last one before
    /// pg_backup_stop) and returns its name; fails if <paramref name="run"/> ends first.
    /// </summary>
    private async Task<string> WaitForBackupAtStopAsync(string? except, Task<ProcessResult> run)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(3);
        while (true)
        {
            var name = Directory.Exists(BackupsDirectory)
                ? Directory.GetDirectories(BackupsDirectory).Select(Path.GetFileName).FirstOrDefault(n => n != except
                    && File.Exists(Path.Combine(BackupsDirectory, n!, "tar_partitions", "pg_control.tar.lz4")))
                : null;
            if (name is not null)
            {
                return name;
            }

            if (run.IsCompleted)
            {
                var result = await run;
                Assert.Fail($"backup-push ended (exit {result.ExitCode}) before it reached pg_backup_stop:\n{result.Stderr}");
            }

            Assert.True(DateTime.UtcNow < deadline, "backup-push did not reach pg_backup_stop in time");
            await Task.Delay(100, Token);
        }
    }
}
