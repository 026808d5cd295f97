namespace PgArchive.EndToEnd;

/// <summary>
/// An archive someone with write access to it has tampered with, against real PostgreSQL 15 and the CLI: links planted
/// in a local archive, delta chains that loop, damaged metadata and oversized objects. Each command either carries on
/// with what it can trust or fails with one line, and never touches anything outside the archive.
/// </summary>
public sealed class HostileArchiveTests(PgArchiveCli cli) : IAsyncLifetime
{
    private readonly ArchiveWorkspace _workspace = new();

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync() => _workspace.DisposeAsync();

    private string ArchiveCommand => $"\"{cli.Executable}\" wal-push \"%p\"";

    private Dictionary<string, string?> Settings => _workspace.FileArchiveSettings;

    private Task<ProcessResult> Run(params string[] args) => cli.RunAsync(Settings, args);

    private string ArchivePath(string key) => Path.Combine(_workspace.ArchiveDirectory, key);

    /// <summary>A cluster archiving into the workspace with two full backups and the WAL between them; returns their names.</summary>
    private async Task<(string First, string Second)> TwoBackupsAsync()
    {
        await using var source = await PostgresCluster.StartAsync(_workspace.PathFor("source"), ArchiveCommand, Settings);
        var environment = PitrScenario.Merge(Settings, source.LibpqEnvironment);
        await source.ExecuteAsync("CREATE TABLE items (id int PRIMARY KEY)");
        await source.SwitchWalAndWaitForArchiveAsync();
        var first = (await cli.RunAsync(environment, "backup-push", source.DataDirectory)).EnsureSuccess("backup-push").Stdout.Trim();
        await source.ExecuteAsync("INSERT INTO items SELECT generate_series(1, 1000)");
        await source.SwitchWalAndWaitForArchiveAsync();
        var second = (await cli.RunAsync(environment, "backup-push", source.DataDirectory)).EnsureSuccess("backup-push").Stdout.Trim();
        await source.SwitchWalAndWaitForArchiveAsync();
        return (first, second);
    }

    [Fact]
    public async Task Delete_never_follows_links_planted_in_a_local_archive()
    {
        var (first, _) = await TwoBackupsAsync();
        Assert.True(string.CompareOrdinal(first, "base_000000010000000000000001") > 0, first); // the planted backup is older: garbage

        // A victim directory the archive's OS user may write, outside the archive, and links to it in the archive.
        var victim = _workspace.CreateDirectory("victim");
        string[] victimFiles =
        [
            "000000010000000000000001.lz4", "base_000000010000000000000001/tar_partitions/part_001.tar.lz4",
            "base_000000010000000000000001/metadata.json", "precious.txt",
        ];
        foreach (var file in victimFiles)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(victim, file))!);
            await File.WriteAllTextAsync(Path.Combine(victim, file), "precious", TestContext.Current.CancellationToken);
        }

        ProcessRunner.GiveToOsUser(victim);
        Directory.CreateSymbolicLink(ArchivePath("basebackups_005/base_000000010000000000000001"), Path.Combine(victim, "base_000000010000000000000001"));
        Directory.CreateSymbolicLink(ArchivePath("basebackups_005/elsewhere"), victim);
        Directory.CreateSymbolicLink(ArchivePath("wal_005/elsewhere"), victim);
        File.CreateSymbolicLink(ArchivePath("wal_005/000000010000000000000000.lz4"), Path.Combine(victim, "000000010000000000000001.lz4"));

        var garbage = await Run("delete", "garbage", "--confirm");
        garbage.EnsureSuccess("delete garbage --confirm");
        var everything = await Run("delete", "everything", "FORCE", "--confirm");
        everything.EnsureSuccess("delete everything FORCE --confirm");

        foreach (var file in victimFiles)
        {
            Assert.True(File.Exists(Path.Combine(victim, file)), $"{file} was deleted through a link:\n{garbage.Stdout}\n{everything.Stdout}");
        }

        Assert.DoesNotContain("elsewhere", garbage.Stdout + everything.Stdout, StringComparison.Ordinal);
        Assert.Contains("No backups found", (await Run("backup-list")).EnsureSuccess("backup-list").Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_looping_chain_and_damaged_metadata_are_named_and_the_rest_carries_on()
    {
        var (first, second) = await TwoBackupsAsync();
        await File.WriteAllTextAsync(ArchivePath($"basebackups_005/{first}/metadata.json"), """{"is_permanent": "yes"}""", TestContext.Current.CancellationToken);
        var sentinelPath = ArchivePath($"basebackups_005/{second}_backup_stop_sentinel.json");
        var sentinel = System.Text.Json.Nodes.JsonNode.Parse(await File.ReadAllTextAsync(sentinelPath, TestContext.Current.CancellationToken))!;
        sentinel["DeltaFrom"] = second; // built on itself
        await File.WriteAllTextAsync(sentinelPath, sentinel.ToJsonString(), TestContext.Current.CancellationToken);
        var loop = $"The delta chain of {second} loops: {second} is built on {second}";

        var list = (await Run("backup-list")).EnsureSuccess("backup-list");
        var detail = (await Run("backup-list", "--detail", "--json")).EnsureSuccess("backup-list --detail --json");
        var walShow = (await Run("wal-show")).EnsureSuccess("wal-show");
        var garbage = (await Run("delete", "garbage")).EnsureSuccess("delete garbage");
        var verify = await Run("backup-verify", second);
        var mark = await Run("backup-mark", "LATEST");

        Assert.True(mark.ExitCode == 1, $"backup-mark: exit {mark.ExitCode}\n{mark.Stderr}");
        Assert.StartsWith($"pgarchive: error: {loop}", mark.Stderr, StringComparison.Ordinal);
        Assert.Contains(first, list.Stdout, StringComparison.Ordinal);
        Assert.Contains(second, list.Stdout, StringComparison.Ordinal);
        using (var document = System.Text.Json.JsonDocument.Parse(detail.Stdout))
        {
            Assert.Equal([second], document.RootElement.EnumerateArray().Select(b => b.GetProperty("backup_name").GetString()));
        }

        foreach (var run in new[] { detail, walShow, garbage })
        {
            Assert.Contains($"Backup {first} cannot be read", run.Stderr, StringComparison.Ordinal);
            Assert.Contains($"'basebackups_005/{first}/metadata.json' is damaged: field is_permanent", run.Stderr, StringComparison.Ordinal);
            Assert.DoesNotContain("Exception", run.Stderr, StringComparison.Ordinal);
        }

        Assert.Contains(loop, walShow.Stderr, StringComparison.Ordinal);
        Assert.Contains($"keep   {first}", garbage.Stdout, StringComparison.Ordinal);
        Assert.Contains(loop, garbage.Stdout, StringComparison.Ordinal);
        Assert.True(verify.ExitCode == 1, $"backup-verify: exit {verify.ExitCode}\n{verify.Stderr}");
        Assert.Contains(loop, verify.Stderr, StringComparison.Ordinal);
    }
}
