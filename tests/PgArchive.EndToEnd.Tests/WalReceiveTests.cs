using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Npgsql;

namespace PgArchive.EndToEnd;

/// <summary>
/// wal-receive against real PostgreSQL: WAL streamed into the archive through a slot, the server killed with SIGKILL, the
/// archive restored and recovered to its end (through the last segment's .partial): in synchronous mode every
/// acknowledged commit is there; otherwise all but the last flush interval's. wal-receive itself killed at random
/// instants and restarted: the archive has no gap and recovers exactly.
/// </summary>
public sealed class WalReceiveTests(PgArchiveCli cli, ITestOutputHelper output) : IAsyncLifetime
{
    private readonly ArchiveWorkspace _workspace = new();

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync() => _workspace.DisposeAsync();

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    /// <summary>PostgreSQL major versions to run against: 15 and 17 (PGARCHIVE_RECEIVE_MAJORS overrides, e.g. "15").</summary>
    public static TheoryData<int> Majors =>
        [.. (Environment.GetEnvironmentVariable("PGARCHIVE_RECEIVE_MAJORS") ?? "15,17").Split(',').Select(m => int.Parse(m, CultureInfo.InvariantCulture))];

    [Theory]
    [MemberData(nameof(Majors))]
    public async Task Synchronous_wal_receive_keeps_every_acknowledged_commit_when_the_server_is_killed(int major)
    {
        var (acknowledged, restored, _) = await KillServerAndRestoreAsync(major, synchronous: true);

        var missing = acknowledged.Keys.Where(id => !restored.Contains(id)).Order().ToList();
        output.WriteLine($"PostgreSQL {major}, synchronous: {acknowledged.Count} commits acknowledged, {restored.Count} restored, {missing.Count} missing");
        Assert.True(acknowledged.Count > 50, $"the writer should have committed for a while, got {acknowledged.Count}");
        Assert.Empty(missing);
    }

    [Theory]
    [MemberData(nameof(Majors))]
    public async Task Asynchronous_wal_receive_loses_at_most_the_flush_interval_when_the_server_is_killed(int major)
    {
        var (acknowledged, restored, killedAt) = await KillServerAndRestoreAsync(major, synchronous: false);

        var missing = acknowledged.Where(a => !restored.Contains(a.Key)).Select(a => a.Value).Order().ToList();
        var oldestLost = missing.Count == 0 ? TimeSpan.Zero : killedAt - missing[0];
        output.WriteLine($"PostgreSQL {major}, --flush-interval 1s: {acknowledged.Count} commits acknowledged, {missing.Count} lost, the oldest acknowledged {oldestLost.TotalMilliseconds:0} ms before the kill");
        Assert.True(acknowledged.Count > 50, $"the writer should have committed for a while, got {acknowledged.Count}");
        // One flush interval, plus the upload that was under way and scheduling on 2 shared cores.
        Assert.True(oldestLost <= TimeSpan.FromSeconds(2.5), $"a commit acknowledged {oldestLost.TotalSeconds:0.00} s before the kill was lost");
    }

    private async Task<(ConcurrentDictionary<int, DateTime> Acknowledged, HashSet<int> Restored, DateTime KilledAt)> KillServerAndRestoreAsync(int major, bool synchronous)
    {
        var settings = _workspace.FileArchiveSettings;
        var extra = synchronous ? "synchronous_standby_names = 'pgarchive_e2e'\nsynchronous_commit = on\n" : "";
        await using var source = await PostgresCluster.StartAsync(_workspace.PathFor("source"), "true", settings, extra, major);
        await using var receive = await StartReceiveAsync(source, "receive.log", "--create-slot", "--application-name", "pgarchive_e2e",
            synchronous ? "--synchronous" : "--flush-interval=1s");
        await receive.WaitForLogAsync("Streaming WAL from", TimeSpan.FromSeconds(30));
        await source.PgbenchAsync("-i", "-s", "1", "-q");
        await source.ExecuteAsync("CREATE TABLE acknowledged (id int PRIMARY KEY, payload text)");
        (await cli.RunAsync(PitrScenario.Merge(settings, source.LibpqEnvironment), "backup-push", source.DataDirectory)).EnsureSuccess("backup-push");

        var acknowledged = new ConcurrentDictionary<int, DateTime>();
        using var stop = new CancellationTokenSource();
        var load = RunPgbenchUntilAsync(source, stop.Token);
        var writer = WriteAcknowledgedAsync(source, acknowledged, stop.Token);
        await Task.Delay(TimeSpan.FromSeconds(6), Token);
        var killedAt = DateTime.UtcNow;
        await KillServerAsync(source);
        await stop.CancelAsync();
        await writer;
        await load;
        await receive.SignalAsync("KILL"); // what was acknowledged must already be stored: no graceful stop
        output.WriteLine(receive.Log.Split('\n').Where(l => l.Contains("warn", StringComparison.Ordinal) || l.Contains("error", StringComparison.Ordinal)).Take(5).Aggregate("", (a, l) => a + l + "\n"));
        Directory.Delete(source.DataDirectory, recursive: true);

        await using var restored = await RestoreToEndAsync(cli, _workspace, settings, "LATEST", major);
        var ids = new HashSet<int>();
        await using (var connection = await restored.ConnectAsync())
        await using (var command = new NpgsqlCommand("SELECT id FROM acknowledged", connection))
        await using (var reader = await command.ExecuteReaderAsync(Token))
        {
            while (await reader.ReadAsync(Token))
            {
                ids.Add(reader.GetInt32(0));
            }
        }

        return (acknowledged, ids, killedAt);
    }

    [Fact]
    public async Task Wal_receive_killed_at_random_instants_and_restarted_leaves_no_gap_and_recovers_exactly()
    {
        var kills = int.Parse(Environment.GetEnvironmentVariable("PGARCHIVE_RECEIVE_KILLS") ?? "3", CultureInfo.InvariantCulture);
        var settings = _workspace.FileArchiveSettings;
        await using var source = await PostgresCluster.StartAsync(_workspace.PathFor("source"), "true", settings);
        await source.PgbenchAsync("-i", "-s", "2", "-q");
        var receive = await StartReceiveAsync(source, "receive.log", "--create-slot", "--flush-interval=200ms");
        await receive.WaitForLogAsync("Streaming WAL from", TimeSpan.FromSeconds(30));
        (await cli.RunAsync(PitrScenario.Merge(settings, source.LibpqEnvironment), "backup-push", source.DataDirectory)).EnsureSuccess("backup-push");

        await source.ExecuteAsync("CREATE TABLE bulk (id bigint, payload text)");
        using var stop = new CancellationTokenSource();
        var load = Task.WhenAll(RunPgbenchUntilAsync(source, stop.Token), BulkWriteAsync(source, stop.Token));
        var random = new Random(Environment.GetEnvironmentVariable("PGARCHIVE_RECEIVE_SEED") is { } seed ? int.Parse(seed, CultureInfo.InvariantCulture) : Environment.TickCount);
        for (var i = 0; i < kills; i++)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(random.Next(200, 2500)), Token);
            await receive.SignalAsync("KILL");
            await receive.DisposeAsync();
            receive = await StartReceiveAsync(source, "receive.log");
        }

        await stop.CancelAsync();
        await load;
        var expected = await ChecksumAsync(source);
        await source.ExecuteAsync("SELECT pg_switch_wal()");
        var end = await source.ScalarAsync<string>("SELECT pg_current_wal_flush_lsn()::text");
        await WaitUntilStoredAsync(source, end);
        await receive.SignalAsync("INT");
        Assert.Equal(130, receive.ExitCode);

        var verifySettings = PitrScenario.Merge(settings, source.LibpqEnvironment);
        verifySettings["WALG_UPLOAD_CONCURRENCY"] = "1"; // only the segment in progress may be missing
        var verify = await cli.RunAsync(verifySettings, "wal-verify", "integrity", "--json");
        output.WriteLine(verify.Stdout);
        Assert.DoesNotContain("MISSING_LOST", verify.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("MISSING_DELAYED", verify.Stdout, StringComparison.Ordinal);
        await source.StopAndDeleteAsync();

        await using var restored = await RestoreToEndAsync(cli, _workspace, settings, "LATEST");
        Assert.Equal(expected, await ChecksumAsync(restored));
        await receive.DisposeAsync();
    }

    [Fact]
    public async Task Wal_receive_refuses_a_missing_slot_a_role_without_replication_and_a_server_without_wal_senders_in_one_line()
    {
        var settings = _workspace.FileArchiveSettings;
        await using (var source = await PostgresCluster.StartAsync(_workspace.PathFor("source"), "true", settings))
        {
            await source.ExecuteAsync("CREATE ROLE plain LOGIN");
            var environment = PitrScenario.Merge(settings, source.LibpqEnvironment);

            var missing = await cli.RunAsync(environment, "wal-receive", "--slot", "not_there");
            AssertOneLine(missing, 2, "Replication slot 'not_there' does not exist");

            environment["PGUSER"] = "plain";
            var role = await cli.RunAsync(environment, "wal-receive", "--no-slot");
            AssertOneLine(role, 1, "replication");
        }

        await using var noSenders = await PostgresCluster.StartAsync(_workspace.PathFor("nosenders"), "", settings, "max_wal_senders = 0\n");
        var refused = await cli.RunAsync(PitrScenario.Merge(settings, noSenders.LibpqEnvironment), "wal-receive", "--no-slot");
        AssertOneLine(refused, 1, "max_wal_senders");
    }

    /// <summary>Exit <paramref name="exitCode"/> and one line of error (warnings aside) containing <paramref name="text"/>, no stack trace.</summary>
    internal static void AssertOneLine(ProcessResult result, int exitCode, string text)
    {
        var lines = result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.Contains(" warn: ", StringComparison.Ordinal)).ToList();
        Assert.True(result.ExitCode == exitCode && lines.Count == 1 && lines[0].Contains(text, StringComparison.Ordinal),
            $"expected exit {exitCode} and one line with '{text}', got exit {result.ExitCode}:\n{result.Stderr}");
        Assert.DoesNotContain("   at ", result.Stderr, StringComparison.Ordinal);
    }

    private Task<BackgroundCli> StartReceiveAsync(PostgresCluster source, string log, params string[] args) =>
        BackgroundCli.StartAsync(cli, PitrScenario.Merge(_workspace.FileArchiveSettings, source.LibpqEnvironment), _workspace.PathFor(log),
            ["wal-receive", "--slot", "pgarchive_e2e", .. args]);

    /// <summary>Commits one row at a time and records each commit the server acknowledged, with when.</summary>
    private static async Task WriteAcknowledgedAsync(PostgresCluster source, ConcurrentDictionary<int, DateTime> acknowledged, CancellationToken stop)
    {
        try
        {
            await using var connection = await source.ConnectAsync();
            for (var id = 1; !stop.IsCancellationRequested; id++)
            {
                await using var command = new NpgsqlCommand($"INSERT INTO acknowledged VALUES ({id}, repeat('x', 200))", connection);
                await command.ExecuteNonQueryAsync(CancellationToken.None);
                acknowledged[id] = DateTime.UtcNow;
            }
        }
        catch (Exception ex) when (ex is NpgsqlException or IOException or InvalidOperationException)
        {
            // the server was killed: the commit in flight was not acknowledged
        }
    }

    internal static async Task RunPgbenchUntilAsync(PostgresCluster source, CancellationToken stop)
    {
        var start = new ProcessStartInfo("/usr/lib/postgresql/15/bin/pgbench")
        {
            UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true,
        };
        foreach (var arg in new[] { "-h", "127.0.0.1", "-p", source.Port.ToString(CultureInfo.InvariantCulture), "-U", "postgres", "-c", "2", "-T", "600", "-n", "postgres" })
        {
            start.ArgumentList.Add(arg);
        }

        using var pgbench = Process.Start(start)!;
        var drain = Task.WhenAll(pgbench.StandardOutput.ReadToEndAsync(CancellationToken.None), pgbench.StandardError.ReadToEndAsync(CancellationToken.None));
        try
        {
            await pgbench.WaitForExitAsync(stop);
        }
        catch (OperationCanceledException)
        {
            pgbench.Kill();
            await pgbench.WaitForExitAsync(CancellationToken.None);
        }

        await drain;
    }

    /// <summary>SIGKILL to the postmaster and every process it started, as a crash of the machine would stop them.</summary>
    private static async Task KillServerAsync(PostgresCluster cluster)
    {
        var pid = File.ReadLines(Path.Combine(cluster.DataDirectory, "postmaster.pid")).First().Trim();
        var children = await ProcessRunner.RunAsync("ps", ["-o", "pid=", "--ppid", pid], asOsUser: false);
        var pids = children.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Prepend(pid);
        (await ProcessRunner.RunAsync("kill", ["-KILL", .. pids], asOsUser: false)).EnsureSuccess("kill -9 of the server");
        File.Delete(Path.Combine(cluster.DataDirectory, "postmaster.pid"));
    }

    private static Task<string> ChecksumAsync(PostgresCluster cluster) => cluster.ScalarAsync<string>(
        "SELECT (SELECT count(*) FROM pgbench_history) || '/' || (SELECT sum(abalance) FROM pgbench_accounts) || '/' || (SELECT sum(tbalance) FROM pgbench_tellers)" +
        " || '/' || (SELECT count(*) || ':' || coalesce(sum(id), 0) FROM bulk)");

    /// <summary>Inserts 20,000 rows (about 2.5 MB of WAL) per statement until stopped, so that segments fill between kills.</summary>
    internal static async Task BulkWriteAsync(PostgresCluster source, CancellationToken stop)
    {
        await using var connection = await source.ConnectAsync();
        for (var batch = 0L; !stop.IsCancellationRequested; batch++)
        {
            await using var command = new NpgsqlCommand(
                $"INSERT INTO bulk SELECT {batch} * 20000 + g, repeat('b', 60) FROM generate_series(1, 20000) g", connection);
            await command.ExecuteNonQueryAsync(CancellationToken.None);
        }
    }

    /// <summary>
    /// Restores <paramref name="backup"/> into the workspace's <c>restored</c> directory set to recover to the end of the
    /// archive and promote, starts it and waits until it has.
    /// </summary>
    internal static async Task<PostgresCluster> RestoreToEndAsync(PgArchiveCli cli, ArchiveWorkspace workspace, IReadOnlyDictionary<string, string?> settings,
        string backup, int major = PostgresCluster.DefaultMajor)
    {
        var restoreDirectory = workspace.CreateDirectory("restored");
        (await cli.RunAsync(settings, "backup-fetch", Path.Combine(restoreDirectory, "data"), backup, "--recovery", "--recovery-target-action", "promote"))
            .EnsureSuccess("backup-fetch");
        var restored = await PostgresCluster.StartAsync(restoreDirectory, "true", settings, major: major);
        await restored.WaitUntilPromotedAsync(TimeSpan.FromMinutes(3));
        return restored;
    }

    /// <summary>Until <paramref name="source"/>'s walsender to wal-receive (application_name pgarchive) reports <paramref name="lsn"/> flushed: stored.</summary>
    internal static async Task WaitUntilStoredAsync(PostgresCluster source, string lsn, BackgroundCli? receive = null)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        while (!await source.ScalarAsync<bool>($"SELECT coalesce((SELECT flush_lsn >= '{lsn}' FROM pg_stat_replication WHERE application_name = 'pgarchive'), false)"))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"wal-receive did not report {lsn} stored in time:\n{receive?.Log}");
            }

            await Task.Delay(100);
        }
    }
}
