using System.Diagnostics;
using System.Text.Json;

namespace PgArchive.EndToEnd;

/// <summary>
/// WALG_DISK_RATE_LIMIT and WALG_NETWORK_RATE_LIMIT hold a backup to its budget while pgbench writes, and what was
/// taken slowly restores exactly. The limit is a floor on the time taken (a busy machine only adds to it), so these
/// assertions hold however noisy the machine is; the measured rate is written to the test output.
/// </summary>
public sealed class ThrottleTests(PgArchiveCli cli) : IAsyncLifetime
{
    private const string State =
        "SELECT (SELECT count(*) || ':' || sum(abalance) FROM pgbench_accounts) || '/' || (SELECT count(*) || ':' || sum(delta) FROM pgbench_history)";

    private readonly ArchiveWorkspace _workspace = new();

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync() => _workspace.DisposeAsync();

    private string ArchiveCommand => $"\"{cli.Executable}\" wal-push \"%p\"";

    [Theory]
    [InlineData("WALG_DISK_RATE_LIMIT")]
    [InlineData("WALG_NETWORK_RATE_LIMIT")]
    public async Task A_rate_limited_backup_push_under_pgbench_keeps_to_the_limit_and_restores_exactly(string variable)
    {
        const long rate = 8_000_000; // bytes per second
        var settings = _workspace.FileArchiveSettings;
        // pgbench's rows compress tenfold: stored uncompressed, what the network limit counts is as large as what is read
        settings["WALG_COMPRESSION_METHOD"] = variable == "WALG_NETWORK_RATE_LIMIT" ? "none" : "lz4";
        await using var source = await PostgresCluster.StartAsync(_workspace.PathFor("source"), ArchiveCommand, settings);
        await source.PgbenchAsync("-i", "-s", "3", "-q");

        var push = PitrScenario.Merge(settings, source.LibpqEnvironment);
        push[variable] = rate.ToString(System.Globalization.CultureInfo.InvariantCulture);
        push["WALG_UPLOAD_DISK_CONCURRENCY"] = "4"; // parallel readers share the one budget
        var load = source.PgbenchAsync("-c", "2", "-T", "6", "-n");
        var clock = Stopwatch.StartNew();
        (await cli.RunAsync(push, "backup-push", source.DataDirectory)).EnsureSuccess("rate-limited backup-push");
        var elapsed = clock.Elapsed;
        await load;

        var sentinel = Directory.GetFiles(Path.Combine(_workspace.ArchiveDirectory, "basebackups_005"), "*_backup_stop_sentinel.json").Single();
        using var json = JsonDocument.Parse(File.ReadAllBytes(sentinel));
        var counted = variable == "WALG_DISK_RATE_LIMIT"
            ? json.RootElement.GetProperty("UncompressedSize").GetInt64() // the tar stream: every byte read, plus headers
            : json.RootElement.GetProperty("CompressedSize").GetInt64();
        // The bucket starts full (a twentieth of a second at the rate) and the files read outside the parallel
        // partitions (pg_control, backup_label) are not limited: both are small against a database of ~50 MB.
        var floor = TimeSpan.FromSeconds((counted - (2 * rate / 20)) / (double)rate);
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"{variable}={rate}: {counted} bytes in {elapsed.TotalSeconds:F2} s = {counted / elapsed.TotalSeconds / rate:P1} of the limit (floor {floor.TotalSeconds:F2} s)");
        Assert.True(counted > 4 * rate, $"the backup ({counted} bytes) is too small to show the limit");
        Assert.True(elapsed >= floor, $"{counted} bytes took {elapsed.TotalSeconds:F2} s: faster than {rate} bytes/s allows ({floor.TotalSeconds:F2} s)");

        await source.ExecuteAsync("SELECT pg_create_restore_point('after_the_backup')");
        var expected = await source.ScalarAsync<string>(State);
        await source.ExecuteAsync("UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid <= 1000");
        await source.SwitchWalAndWaitForArchiveAsync();
        await source.StopAndDeleteAsync();

        var restoreDirectory = _workspace.CreateDirectory("restored");
        (await cli.RunAsync(settings, "backup-fetch", Path.Combine(restoreDirectory, "data"), "LATEST",
            "--recovery-target-name", "after_the_backup", "--recovery-target-action", "promote")).EnsureSuccess("backup-fetch of the rate-limited backup");
        await using var restored = await PostgresCluster.StartAsync(restoreDirectory, "true", settings);
        await restored.WaitUntilPromotedAsync(TimeSpan.FromMinutes(3));
        Assert.Equal(expected, await restored.ScalarAsync<string>(State));
    }

    [Fact]
    public async Task A_rate_limited_backup_fetch_keeps_to_the_network_limit()
    {
        const long rate = 12_000_000;
        var settings = _workspace.FileArchiveSettings;
        settings["WALG_COMPRESSION_METHOD"] = "none";
        await using var source = await PostgresCluster.StartAsync(_workspace.PathFor("source"), ArchiveCommand, settings);
        await source.PgbenchAsync("-i", "-s", "3", "-q");
        (await cli.RunAsync(PitrScenario.Merge(settings, source.LibpqEnvironment), "backup-push", source.DataDirectory)).EnsureSuccess("backup-push");
        await source.StopAsync();

        var sentinel = Directory.GetFiles(Path.Combine(_workspace.ArchiveDirectory, "basebackups_005"), "*_backup_stop_sentinel.json").Single();
        using var json = JsonDocument.Parse(File.ReadAllBytes(sentinel));
        var stored = json.RootElement.GetProperty("CompressedSize").GetInt64();

        var fetch = new Dictionary<string, string?>(settings) { ["WALG_NETWORK_RATE_LIMIT"] = rate.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        var restoreDirectory = _workspace.CreateDirectory("restored");
        var clock = Stopwatch.StartNew();
        (await cli.RunAsync(fetch, "backup-fetch", Path.Combine(restoreDirectory, "data"), "LATEST")).EnsureSuccess("rate-limited backup-fetch");
        var elapsed = clock.Elapsed;
        var floor = TimeSpan.FromSeconds((stored - (rate / 20)) / (double)rate);
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"backup-fetch at {rate} bytes/s: {stored} bytes in {elapsed.TotalSeconds:F2} s = {stored / elapsed.TotalSeconds / rate:P1} of the limit (floor {floor.TotalSeconds:F2} s)");
        Assert.True(stored > 2 * rate, $"the backup ({stored} bytes stored) is too small to show the limit");
        Assert.True(elapsed >= floor, $"{stored} bytes came back in {elapsed.TotalSeconds:F2} s: faster than {rate} bytes/s allows");
    }
}
