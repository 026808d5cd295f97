using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace PgArchive.EndToEnd;

/// <summary>
/// Every supported PostgreSQL major version, one short scenario each on one small cluster: WAL archived by wal-push, a
/// full backup and a delta on it, restores of the delta to a time and to a restore point with exactly the rows written
/// before each, and restore-drill. Server binaries other than Debian's 15 are installed by the recipe on first use
/// (counted in the test's time, reported apart).
/// </summary>
public sealed class PostgresVersionTests(PgArchiveCli cli) : IAsyncLifetime
{
    private readonly ArchiveWorkspace _workspace = new();

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync() => _workspace.DisposeAsync();

    private string ArchiveCommand => $"\"{cli.Executable}\" wal-push \"%p\"";

    [Theory]
    [InlineData(10)]
    [InlineData(11)]
    [InlineData(12)]
    [InlineData(13)]
    [InlineData(14)]
    [InlineData(15)]
    [InlineData(16)]
    [InlineData(17)]
    [InlineData(18)]
    public async Task Full_and_delta_backups_restore_to_a_time_and_to_a_name_and_pass_the_drill(int major)
    {
        var total = Stopwatch.StartNew();
        var bin = await PostgresCluster.BinDirectoryAsync(major);
        var install = total.Elapsed;
        var settings = _workspace.FileArchiveSettings;
        var source = await PostgresCluster.StartAsync(_workspace.PathFor("source"), ArchiveCommand, settings, major: major);
        await using (source)
        {
            Assert.Equal(major, await source.ScalarAsync<int>("SELECT current_setting('server_version_num')::int / 10000"));
            var push = PitrScenario.Merge(settings, source.LibpqEnvironment);
            await source.ExecuteAsync("CREATE TABLE items (id int PRIMARY KEY, payload text NOT NULL); " +
                                      "INSERT INTO items SELECT g, md5(g::text) FROM generate_series(1, 20000) g");
            var full = (await cli.RunAsync(push, "backup-push", source.DataDirectory)).EnsureSuccess("backup-push (full)").Stdout.Trim();

            await source.ExecuteAsync("CREATE TABLE marker (id int PRIMARY KEY); INSERT INTO marker VALUES (1), (2); " +
                                      "UPDATE items SET payload = 'changed' WHERE id <= 500");
            push["WALG_DELTA_MAX_STEPS"] = "1";
            var delta = (await cli.RunAsync(push, "backup-push", source.DataDirectory)).EnsureSuccess("backup-push (delta)").Stdout.Trim();
            Assert.EndsWith("_D_" + full[5..], delta, StringComparison.Ordinal);

            await source.ExecuteAsync("INSERT INTO marker VALUES (3)");
            await Task.Delay(300, TestContext.Current.CancellationToken);
            var target = await source.ScalarAsync<DateTime>("SELECT clock_timestamp()");
            await Task.Delay(300, TestContext.Current.CancellationToken);
            await source.ExecuteAsync("INSERT INTO marker VALUES (4)");
            await source.ExecuteAsync("SELECT pg_create_restore_point('before_five')");
            await source.ExecuteAsync("INSERT INTO marker VALUES (5); DELETE FROM items WHERE id > 19000");
            await source.SwitchWalAndWaitForArchiveAsync();
            await source.StopAsync();

            var time = target.ToString("yyyy-MM-dd HH:mm:ss.ffffff", CultureInfo.InvariantCulture) + "+00";
            Assert.Equal("1,2,3/20000/500", await RestoreAsync(major, "at-time", "--recovery-target-time", time));
            Assert.Equal("1,2,3,4/20000/500", await RestoreAsync(major, "at-name", "--recovery-target-name", "before_five"));

            var drillTemp = _workspace.CreateDirectory("drill-tmp");
            var drill = (await cli.RunAsync(new Dictionary<string, string?>(settings) { ["TMPDIR"] = drillTemp }, "restore-drill", "LATEST", "--pg-bin", bin, "--json"))
                .EnsureSuccess($"restore-drill on PostgreSQL {major}");
            using var report = JsonDocument.Parse(drill.Stdout);
            Assert.True(report.RootElement.GetProperty("succeeded").GetBoolean(), drill.Stdout);
            Assert.Equal(delta, report.RootElement.GetProperty("backup_name").GetString());
            var postgres = report.RootElement.GetProperty("databases").EnumerateArray().Single(d => d.GetProperty("name").GetString() == "postgres");
            Assert.True(postgres.GetProperty("rows").GetInt64() >= 19_000 + 5, postgres.ToString());
            Assert.Empty(Directory.EnumerateFileSystemEntries(drillTemp));
        }

        TestContext.Current.TestOutputHelper?.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"PostgreSQL {major}: {total.Elapsed.TotalSeconds:F1} s, of which installing the server binaries {install.TotalSeconds:F1} s"));
    }

    /// <summary>Restores LATEST to the target the options give into a new cluster; returns "markers/items/changed items" there.</summary>
    private async Task<string> RestoreAsync(int major, string name, params string[] target)
    {
        var directory = _workspace.CreateDirectory(name);
        (await cli.RunAsync(_workspace.FileArchiveSettings, ["backup-fetch", Path.Combine(directory, "data"), "LATEST", .. target, "--recovery-target-action", "promote"]))
            .EnsureSuccess($"backup-fetch {string.Join(' ', target)}");
        // Not archiving: the next restore must not find this one's new timeline in the archive (it forks before that target).
        var restored = await PostgresCluster.StartAsync(directory, "true", _workspace.FileArchiveSettings, major: major);
        await using (restored)
        {
            await restored.WaitUntilPromotedAsync(TimeSpan.FromMinutes(2));
            var rows = await restored.ScalarAsync<string>(
                "SELECT (SELECT string_agg(id::text, ',' ORDER BY id) FROM marker) || '/' || (SELECT count(*) FROM items) || '/' || " +
                "(SELECT count(*) FROM items WHERE payload = 'changed')");
            await restored.StopAndDeleteAsync();
            return rows;
        }
    }
}
