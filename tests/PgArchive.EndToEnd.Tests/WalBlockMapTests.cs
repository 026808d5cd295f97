namespace PgArchive.EndToEnd;

/// <summary>
/// WALG_USE_WAL_DELTA through the CLI on PostgreSQL 15: archive_command's wal-push stores a block map beside each
/// segment, and the commands that list or check WAL (wal-show, wal-verify, backup-list) do not take maps for WAL;
/// delete everything removes them.
/// </summary>
public sealed class WalBlockMapTests(PgArchiveCli cli) : IAsyncLifetime
{
    private readonly ArchiveWorkspace _workspace = new();

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync() => _workspace.DisposeAsync();

    [Fact]
    public async Task Wal_push_stores_a_block_map_per_segment_that_WAL_listings_ignore_and_delete_removes()
    {
        var settings = new Dictionary<string, string?>(_workspace.FileArchiveSettings) { ["WALG_USE_WAL_DELTA"] = "true" };
        var maps = Path.Combine(_workspace.ArchiveDirectory, "wal_blockmaps_005");
        await using (var source = await PostgresCluster.StartAsync(_workspace.PathFor("source"), $"\"{cli.Executable}\" wal-push \"%p\"", settings))
        {
            var environment = PitrScenario.Merge(settings, source.LibpqEnvironment);
            await source.ExecuteAsync("CREATE TABLE items (id int PRIMARY KEY, v text); INSERT INTO items SELECT g, 'x' FROM generate_series(1, 20000) g");
            await source.SwitchWalAndWaitForArchiveAsync();
            (await cli.RunAsync(environment, "backup-push", source.DataDirectory)).EnsureSuccess("backup-push");
            await source.ExecuteAsync("UPDATE items SET v = 'y' WHERE id % 50 = 0");
            await source.SwitchWalAndWaitForArchiveAsync();
        }

        var segments = Directory.GetFiles(Path.Combine(_workspace.ArchiveDirectory, "wal_005"), "*.lz4").Select(Path.GetFileName)
            .Where(n => n!.Length == 28).Select(n => n![..24]).Order(StringComparer.Ordinal).ToList();
        Assert.NotEmpty(segments);
        Assert.Equal(segments.Select(s => s + ".blockmap.lz4"), Directory.GetFiles(maps).Select(Path.GetFileName).Order(StringComparer.Ordinal));

        var show = (await cli.RunAsync(settings, "wal-show")).EnsureSuccess("wal-show");
        var verify = await cli.RunAsync(settings, "wal-verify", "integrity", "timeline");
        var list = (await cli.RunAsync(settings, "backup-list")).EnsureSuccess("backup-list");
        Assert.DoesNotContain("blockmap", show.Stdout + show.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("blockmap", verify.Stdout + verify.Stderr, StringComparison.Ordinal);
        Assert.Equal(0, verify.ExitCode);
        Assert.DoesNotContain("blockmap", list.Stdout, StringComparison.Ordinal);

        (await cli.RunAsync(settings, "delete", "everything", "--confirm")).EnsureSuccess("delete everything");
        Assert.Empty(Directory.GetFiles(maps));
    }
}
