using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Npgsql;

namespace PgArchive.EndToEnd;

/// <summary>
/// backup-push --resume against real PostgreSQL 15: a backup-push that the store fails for good part-way (after some
/// partitions and their progress records were stored) leaves no backup listed; a table is changed and one stored
/// partition damaged; backup-push --resume reuses the untouched partitions, reads the changed table's file and the
/// damaged partition's files again, and the backup restores (with WAL replay) to exactly the source's rows.
/// </summary>
public sealed partial class ResumeBackupTests(PgArchiveCli cli) : IAsyncLifetime
{
    private const string State =
        "SELECT (SELECT count(*) || ':' || sum(hashtext(v)) FROM probe) || '/' || (SELECT count(*) || ':' || sum(id) FROM big) || '/' || " +
        "(SELECT count(*) FROM later)";

    private readonly ArchiveWorkspace _workspace = new();

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync() => _workspace.DisposeAsync();

    private string ArchiveCommand => $"\"{cli.Executable}\" wal-push \"%p\"";

    private string BackupsDirectory => Path.Combine(_workspace.ArchiveDirectory, "basebackups_005");

    [Fact]
    public async Task Resumed_backup_reuses_unchanged_partitions_and_restores_the_same_rows()
    {
        var settings = _workspace.FileArchiveSettings;
        await using var source = await PostgresCluster.StartAsync(_workspace.PathFor("source"), ArchiveCommand, settings);
        var push = PitrScenario.Merge(settings, source.LibpqEnvironment);
        push["WALG_TAR_SIZE_THRESHOLD"] = (1 << 20).ToString(CultureInfo.InvariantCulture);
        push["WALG_UPLOAD_CONCURRENCY"] = "1"; // partitions stored in order: the fault below cuts at a known place

        // A database of its own: base/<oid> sorts right after template1's base/1, so its tables are in early partitions.
        await source.ExecuteAsync("CREATE DATABASE app");
        await ExecuteAsync(source, "CREATE TABLE probe (id int PRIMARY KEY, v text NOT NULL)");
        await ExecuteAsync(source, "INSERT INTO probe SELECT g, md5(g::text) FROM generate_series(1, 2000) g");
        await ExecuteAsync(source, "CREATE TABLE big AS SELECT g AS id FROM generate_series(1, 60000) g");
        await ExecuteAsync(source, "CREATE TABLE later (id int)");
        await ExecuteAsync(source, "VACUUM (FREEZE, ANALYZE)");
        await source.ExecuteAsync("CHECKPOINT");
        await Task.Delay(2500, TestContext.Current.CancellationToken); // files written well before the first attempt reads them
        var probeFile = "/" + await ScalarAsync<string>(source, "SELECT pg_relation_filepath('probe')");

        // 1. Interrupted: after 31 puts (about 15 partitions of about 1 MiB, the progress header and a record per
        // partition; two workers, so a partition or two may be stored before its record) the store refuses every write.
        var interrupted = await cli.RunAsync(PitrScenario.Merge(push, new Dictionary<string, string?> { ["PGARCHIVE_FAULT_INJECTION"] = "permanent:put:31" }),
            "backup-push", source.DataDirectory);
        Assert.Equal(1, interrupted.ExitCode);
        Assert.Contains("Injected permanent fault", interrupted.Stderr, StringComparison.Ordinal);
        Assert.Equal("[]", (await cli.RunAsync(settings, "backup-list", "--json")).EnsureSuccess("backup-list").Stdout.Trim());
        var old = Assert.Single(Directory.GetDirectories(BackupsDirectory)).Split('/')[^1];
        Assert.True(File.Exists(Path.Combine(BackupsDirectory, old, "pgarchive_progress.json")), "the interrupted attempt keeps its progress header");
        var recorded = Directory.GetFiles(Path.Combine(BackupsDirectory, old, "pgarchive_progress"), "part_*.json")
            .Select(f => JsonDocument.Parse(File.ReadAllText(f)).RootElement).ToList();
        Assert.InRange(recorded.Count, 13, 15);
        Assert.True(recorded.Any(p => p.GetProperty("Files").EnumerateArray().Any(f => f.GetProperty("Path").GetString() == probeFile)),
            $"the interrupted attempt should have stored {probeFile} (the test's premise)");

        // 2. Between the attempts: the probe table changes, and a stored partition of template1's files gets damaged (same size).
        await ExecuteAsync(source, "UPDATE probe SET v = v || 'changed' WHERE id <= 50");
        var damaged = Path.Combine(BackupsDirectory, old, "tar_partitions", "part_002.tar.lz4");
        var bytes = await File.ReadAllBytesAsync(damaged, TestContext.Current.CancellationToken);
        bytes[bytes.Length / 2] ^= 0x40;
        await File.WriteAllBytesAsync(damaged, bytes, TestContext.Current.CancellationToken);

        // 3. Resumed.
        var resumed = await cli.RunAsync(push, "backup-push", "--resume", source.DataDirectory);
        resumed.EnsureSuccess("backup-push --resume");
        var name = resumed.Stdout.Trim();
        Assert.NotEqual(old, name);
        var summary = ResumedLine().Match(resumed.Stderr);
        Assert.True(summary.Success, "backup-push --resume should say what it reused:\n" + resumed.Stderr);
        Assert.Equal(old, summary.Groups["from"].Value);
        var reused = int.Parse(summary.Groups["reused"].Value, CultureInfo.InvariantCulture);
        var total = int.Parse(summary.Groups["total"].Value, CultureInfo.InvariantCulture);
        var reusedBytes = long.Parse(summary.Groups["reusedBytes"].Value, CultureInfo.InvariantCulture);
        var storedBytes = long.Parse(summary.Groups["stored"].Value, CultureInfo.InvariantCulture);
        Assert.InRange(reused, 1, recorded.Count - 2); // not the damaged one, not the probe's
        Assert.True(total > reused);
        TestContext.Current.TestOutputHelper?.WriteLine($"resume: {reused} of {total} partitions reused, {reusedBytes} of {storedBytes} bytes stored\n{resumed.Stderr}");
        Assert.Matches($"{Regex.Escape(old)}/tar_partitions/part_002\\.tar\\.lz4 is not reused: .*do not match the checksum recorded", resumed.Stderr);
        Assert.Contains(name, (await cli.RunAsync(settings, "backup-list")).EnsureSuccess("backup-list").Stdout, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(BackupsDirectory, name, "pgarchive_progress.json")), "a complete backup keeps no progress record");
        Assert.False(Directory.Exists(Path.Combine(BackupsDirectory, name, "pgarchive_progress"))
            && Directory.EnumerateFileSystemEntries(Path.Combine(BackupsDirectory, name, "pgarchive_progress")).Any(), "nor partition records");
        var files = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(BackupsDirectory, name, "files_metadata.json"), TestContext.Current.CancellationToken)).RootElement;
        var oldProbe = recorded.SelectMany(p => p.GetProperty("Files").EnumerateArray()).Single(f => f.GetProperty("Path").GetString() == probeFile).GetProperty("Description");
        var newProbe = files.GetProperty("Files").GetProperty(probeFile);
        Assert.True(oldProbe.GetProperty("XxHash128").GetString() != newProbe.GetProperty("XxHash128").GetString(),
            $"{probeFile} changed between the attempts and must be read again, not reused:\n{resumed.Stderr}");
        var checksums = files.GetProperty("TarChecksums").EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal).ToList();
        var stored = Directory.GetFiles(Path.Combine(BackupsDirectory, name, "tar_partitions")).Select(f => Path.GetFileName(f)!).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(stored, checksums);
        Assert.Equal(total, stored.Count(s => s.StartsWith("part_", StringComparison.Ordinal)));
        (await cli.RunAsync(settings, "backup-verify", name)).EnsureSuccess("backup-verify of the resumed backup");

        // 4. More writes after the backup, replayed from WAL; then the source goes and the backup is restored.
        await ExecuteAsync(source, "INSERT INTO later SELECT g FROM generate_series(1, 500) g");
        await ExecuteAsync(source, "UPDATE big SET id = id + 1 WHERE id <= 100");
        var expected = await ScalarAsync<string>(source, State);
        await source.SwitchWalAndWaitForArchiveAsync();
        await source.StopAndDeleteAsync();

        var restoreDirectory = _workspace.CreateDirectory("restored");
        (await cli.RunAsync(settings, "backup-fetch", Path.Combine(restoreDirectory, "data"), name, "--recovery")).EnsureSuccess("backup-fetch");
        await using var restored = await PostgresCluster.StartAsync(restoreDirectory, "true", settings);
        await restored.WaitUntilPromotedAsync(TimeSpan.FromMinutes(2));
        Assert.Equal(expected, await ScalarAsync<string>(restored, State));
        await ExecuteAsync(restored, "SELECT count(*) FROM probe WHERE id > 0"); // reads the index too

        // 5. The interrupted backup, progress record included, is garbage once the resumed backup exists.
        (await cli.RunAsync(settings, "delete", "garbage", "--confirm")).EnsureSuccess("delete garbage");
        Assert.False(Directory.Exists(Path.Combine(BackupsDirectory, old)) && Directory.EnumerateFiles(Path.Combine(BackupsDirectory, old), "*", SearchOption.AllDirectories).Any(),
            $"delete garbage should remove the interrupted backup {old}");
    }

    [GeneratedRegex(@"pgarchive: resumed from (?<from>base_[0-9A-F]{24}): (?<reused>\d+) of (?<total>\d+) tar partitions reused \((?<reusedBytes>\d+) of (?<stored>\d+) bytes stored\)")]
    private static partial Regex ResumedLine();

    private static async Task ExecuteAsync(PostgresCluster cluster, string sql)
    {
        await using var connection = await cluster.ConnectAsync("app");
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<T> ScalarAsync<T>(PostgresCluster cluster, string sql)
    {
        await using var connection = await cluster.ConnectAsync("app");
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync())!;
    }
}
