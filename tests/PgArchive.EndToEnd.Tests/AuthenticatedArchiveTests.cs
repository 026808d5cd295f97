using System.Globalization;
using System.Security.Cryptography;
using System.Text.RegularExpressions;

namespace PgArchive.EndToEnd;

/// <summary>
/// Authenticated archives end to end, with the real CLI and PostgreSQL 15 on a local-filesystem archive, with
/// <c>PGARCHIVE_AUTH_KEY</c> alone and with libsodium encryption and a key derived from it (<c>PGARCHIVE_AUTHENTICATE=true</c>):
/// WAL archiving, two backups and a PITR restore work (restore_command reads the authentication settings from
/// pgarchive.restore.json); every stored object has its record; then one byte of every JSON object in the archive is
/// changed (its JSON stays valid) and every command that reads it refuses it naming it, in one line, without a stack
/// trace: backup-fetch, backup-verify, backup-list --detail, backup-mark, wal-show, delete (which deletes nothing it
/// cannot authenticate), backup-push --resume (progress records); two sentinels swapped with their records, a WAL
/// segment renamed to another's name with its record, and a changed WAL segment are refused too.
/// </summary>
public sealed partial class AuthenticatedArchiveTests(PgArchiveCli cli) : IAsyncLifetime
{
    private readonly ArchiveWorkspace _workspace = new();

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync() => _workspace.DisposeAsync();

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private string Archive => _workspace.ArchiveDirectory;

    private string PathOf(string key) => Path.Combine(Archive, key);

    private string RecordOf(string key) => Path.Combine(Archive, "pgarchive_auth", key);

    private string KeyOf(string path) => Path.GetRelativePath(Archive, path).Replace('\\', '/');

    private Dictionary<string, string?> Settings(string variant) => variant switch
    {
        "key" => new(_workspace.FileArchiveSettings)
        {
            ["PGARCHIVE_AUTH_KEY"] = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32)),
            ["PGARCHIVE_AUTH_KEY_TRANSFORM"] = "hex",
        },
        _ => new(_workspace.FileArchiveSettings)
        {
            ["WALG_LIBSODIUM_KEY"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
            ["WALG_LIBSODIUM_KEY_TRANSFORM"] = "base64",
            ["PGARCHIVE_AUTHENTICATE"] = "true",
        },
    };

    [Theory]
    [InlineData("key")]
    [InlineData("libsodium")]
    public async Task Authenticated_archive_restores_and_every_command_refuses_forged_objects(string variant)
    {
        var settings = Settings(variant);
        var archiveCommand = $"\"{cli.Executable}\" wal-push \"%p\"";
        string a, b;
        await using (var source = await PostgresCluster.StartAsync(_workspace.PathFor("source"), archiveCommand, settings))
        {
            var push = PitrScenario.Merge(settings, source.LibpqEnvironment);
            push["WALG_TAR_SIZE_THRESHOLD"] = (1 << 20).ToString(CultureInfo.InvariantCulture);
            push["WALG_UPLOAD_CONCURRENCY"] = "1";
            await source.PgbenchAsync("-i", "-s", "1", "-q");
            await source.ExecuteAsync("CHECKPOINT");
            a = (await cli.RunAsync(push, "backup-push", source.DataDirectory)).EnsureSuccess("backup-push A").Stdout.Trim();
            await source.ExecuteAsync("CREATE TABLE marker (id int PRIMARY KEY)");
            await source.SwitchWalAndWaitForArchiveAsync();
            b = (await cli.RunAsync(push, "backup-push", source.DataDirectory)).EnsureSuccess("backup-push B").Stdout.Trim();
            await source.ExecuteAsync("INSERT INTO marker VALUES (1), (2), (3)");
            await source.ExecuteAsync("SELECT pg_create_restore_point('authenticated')");
            await source.ExecuteAsync("INSERT INTO marker VALUES (4), (5), (6)");
            await source.SwitchWalAndWaitForArchiveAsync();

            // Every object stored has its record; the records are not among WAL-G's objects.
            var objects = Directory.GetFiles(Archive, "*", SearchOption.AllDirectories).Where(f => !KeyOf(f).StartsWith("pgarchive_auth/", StringComparison.Ordinal)).ToList();
            Assert.True(objects.Count > 20, $"{objects.Count} objects");
            Assert.All(objects, f => Assert.True(File.Exists(RecordOf(KeyOf(f))), $"{KeyOf(f)} has no authentication record"));

            if (variant == "key")
            {
                await ProgressRecordsAreAuthenticatedAsync(source, push);
            }

            await source.StopAndDeleteAsync();
        }

        // PITR from B to the restore point: restore_command (pgarchive.restore.json) authenticates the WAL it fetches.
        var restoreDirectory = _workspace.CreateDirectory("restored");
        var data = Path.Combine(restoreDirectory, "data");
        (await cli.RunAsync(settings, "backup-fetch", data, b, "--recovery-target-name", "authenticated", "--recovery-target-action", "promote"))
            .EnsureSuccess("backup-fetch");
        var restoreConfig = Path.Combine(data, "pgarchive.restore.json");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(restoreConfig));
        Assert.Contains(variant == "key" ? "PGARCHIVE_AUTH_KEY" : "PGARCHIVE_AUTHENTICATE", await File.ReadAllTextAsync(restoreConfig, Token), StringComparison.Ordinal);
        await using (var restored = await PostgresCluster.StartAsync(restoreDirectory, "true", _workspace.FileArchiveSettings))
        {
            await restored.WaitUntilPromotedAsync(TimeSpan.FromMinutes(2));
            Assert.Equal(new[] { 1, 2, 3 }, await restored.ScalarAsync<int[]>("SELECT array_agg(id ORDER BY id) FROM marker"));
            Assert.Equal(100_000L, await restored.ScalarAsync<long>("SELECT count(*) FROM pgbench_accounts"));
            Assert.Contains(File.ReadLines(Path.Combine(restoreDirectory, "postgres.log")), l => l.Contains("restored log file", StringComparison.Ordinal));
            await restored.StopAsync();
        }

        // B's sentinel: every command that reads it refuses it.
        var sentinelB = $"basebackups_005/{b}_backup_stop_sentinel.json";
        await WithFlippedByteAsync(sentinelB, async () =>
        {
            var target = _workspace.CreateDirectory("forged-sentinel");
            var fetch = await cli.RunAsync(settings, "backup-fetch", Path.Combine(target, "data"), b);
            AssertRefused(fetch, sentinelB, "content differs");
            Assert.False(File.Exists(Path.Combine(target, "data", "PG_VERSION")), "nothing may be restored from a forged sentinel");
            AssertRefused(await cli.RunAsync(settings, "backup-verify", b), sentinelB, "content differs");
            AssertRefused(await cli.RunAsync(settings, "backup-list", "--detail"), sentinelB, "content differs", exitCode: 0);
            AssertRefused(await cli.RunAsync(settings, "backup-mark", b), sentinelB, "content differs");
            AssertRefused(await cli.RunAsync(settings, "wal-show"), sentinelB, "content differs", exitCode: 0);
        });

        // B's metadata.json and files_metadata.json, by the commands that read them.
        var metadataB = $"basebackups_005/{b}/metadata.json";
        await WithFlippedByteAsync(metadataB, async () =>
        {
            AssertRefused(await cli.RunAsync(settings, "backup-list", "--detail", "--json"), metadataB, "content differs", exitCode: 0);
            AssertRefused(await cli.RunAsync(settings, "backup-mark", b, "--impermanent"), metadataB, "content differs");
        });
        var filesB = $"basebackups_005/{b}/files_metadata.json";
        await WithFlippedByteAsync(filesB, async () =>
        {
            AssertRefused(await cli.RunAsync(settings, "backup-verify", b), filesB, "content differs");
            AssertRefused(await cli.RunAsync(settings, "backup-fetch", Path.Combine(_workspace.CreateDirectory("forged-files"), "data"), b), filesB, "content differs");
        });

        // Every other JSON object in the archive, by the cheapest command that reads it.
        var checkedObjects = new List<string> { sentinelB, metadataB, filesB };
        foreach (var json in Directory.GetFiles(PathOf("basebackups_005"), "*.json", SearchOption.AllDirectories).Select(KeyOf).Order(StringComparer.Ordinal))
        {
            if (json is var key && (key == sentinelB || key == metadataB || key == filesB || key.Contains("/pgarchive_progress", StringComparison.Ordinal)))
            {
                continue; // done above, or read only by backup-push --resume (ProgressRecordsAreAuthenticatedAsync)
            }

            var backup = BackupOf().Match(json).Groups[1].Value;
            await WithFlippedByteAsync(json, async () =>
            {
                var result = json.EndsWith("files_metadata.json", StringComparison.Ordinal)
                    ? await cli.RunAsync(settings, "backup-verify", backup)
                    : await cli.RunAsync(settings, "backup-list", "--detail");
                AssertRefused(result, json, "content differs", exitCode: json.EndsWith("files_metadata.json", StringComparison.Ordinal) ? 1 : 0);
            });
            checkedObjects.Add(json);
        }

        // Two backups (three objects each), and with the resume checks three more backups.
        Assert.Equal(variant == "key" ? 15 : 6, checkedObjects.Count);
        TestContext.Current.TestOutputHelper?.WriteLine("forged and refused: " + string.Join(", ", checkedObjects));

        // A's and B's sentinels swapped, each with its record.
        var sentinelA = $"basebackups_005/{a}_backup_stop_sentinel.json";
        await SwappedAsync(sentinelA, sentinelB, async () =>
        {
            AssertRefused(await cli.RunAsync(settings, "backup-fetch", Path.Combine(_workspace.CreateDirectory("swapped"), "data"), a), sentinelA, "MAC mismatch");
            AssertRefused(await cli.RunAsync(settings, "backup-list", "--detail"), sentinelA, "MAC mismatch", exitCode: 0);
        });

        // A WAL segment renamed to another segment's name (with its record), and a changed one: wal-fetch refuses both.
        var segments = Directory.GetFiles(PathOf("wal_005")).Select(KeyOf).Where(k => WalSegmentName().IsMatch(k)).Order(StringComparer.Ordinal).ToList();
        var (first, second) = (segments[^3], segments[^2]);
        var firstName = Path.GetFileName(first).Split('.')[0];
        await RenamedAsync(second, first, async () =>
        {
            var destination = _workspace.PathFor("renamed-wal");
            AssertRefused(await cli.RunAsync(settings, "wal-fetch", firstName, destination), first, "MAC mismatch");
            Assert.False(File.Exists(destination));
        });
        await WithFlippedByteAsync(first, async () =>
        {
            var destination = _workspace.PathFor("flipped-wal");
            AssertRefused(await cli.RunAsync(settings, "wal-fetch", firstName, destination), first, "content differs");
            Assert.False(File.Exists(destination));
        }, anyByte: true);

        // Retention deletes nothing it cannot authenticate: A's sentinel forged, retain 1 would delete A.
        var aObjects = Directory.GetFiles(PathOf($"basebackups_005/{a}"), "*", SearchOption.AllDirectories).Append(PathOf(sentinelA)).ToList();
        await WithFlippedByteAsync(sentinelA, async () =>
        {
            var delete = await cli.RunAsync(settings, "delete", "retain", "1", "--confirm");
            AssertRefused(delete, sentinelA, "content differs", exitCode: 0);
            Assert.All(aObjects, f => Assert.True(File.Exists(f), $"delete removed {KeyOf(f)} of a backup it could not authenticate"));
        });

        // With nothing forged, everything reads again.
        (await cli.RunAsync(settings, "backup-list", "--detail")).EnsureSuccess("backup-list --detail after the forgeries were undone");
        (await cli.RunAsync(settings, "backup-verify", a)).EnsureSuccess("backup-verify A after the forgeries were undone");
    }

    /// <summary>
    /// backup-push --resume reads the progress records of an interrupted backup: one whose header or partition records
    /// are forged resumes nothing from them, and the same records intact resume.
    /// </summary>
    private async Task ProgressRecordsAreAuthenticatedAsync(PostgresCluster source, Dictionary<string, string?> push)
    {
        await Task.Delay(2500, Token); // files written well before the attempts read them, so partitions can be reused
        await source.SwitchWalAndWaitForArchiveAsync();
        var interrupted = await cli.RunAsync(PitrScenario.Merge(push, new Dictionary<string, string?> { ["PGARCHIVE_FAULT_INJECTION"] = "permanent:put:20" }),
            "backup-push", source.DataDirectory);
        Assert.Equal(1, interrupted.ExitCode);
        var progressHeader = Directory.GetFiles(PathOf("basebackups_005"), "pgarchive_progress.json", SearchOption.AllDirectories).Select(KeyOf).Single();
        var c = progressHeader.Split('/')[1];
        var partitionRecords = Directory.GetFiles(PathOf($"basebackups_005/{c}/pgarchive_progress"), "*.json").Select(KeyOf).Where(k => File.Exists(RecordOf(k))).ToList();
        Assert.NotEmpty(partitionRecords);

        await source.SwitchWalAndWaitForArchiveAsync();
        await WithFlippedByteAsync(progressHeader, async () =>
        {
            var resumed = await cli.RunAsync(push, "backup-push", "--resume", source.DataDirectory);
            resumed.EnsureSuccess("backup-push --resume, forged header");
            Assert.DoesNotContain("resumed from", resumed.Stderr, StringComparison.Ordinal);
        });

        await source.SwitchWalAndWaitForArchiveAsync();
        var flipped = new List<(string Key, byte[] Original)>();
        foreach (var record in partitionRecords)
        {
            flipped.Add((record, await FlipAsync(record)));
        }

        var withForgedPartitions = await cli.RunAsync(push, "backup-push", "--resume", source.DataDirectory);
        foreach (var (key, original) in flipped)
        {
            await File.WriteAllBytesAsync(PathOf(key), original, Token);
        }

        withForgedPartitions.EnsureSuccess("backup-push --resume, forged partition records");
        Assert.Contains($"pgarchive: resumed from {c}: 0 of", withForgedPartitions.Stderr, StringComparison.Ordinal);

        await source.SwitchWalAndWaitForArchiveAsync();
        var intact = await cli.RunAsync(push, "backup-push", "--resume", source.DataDirectory);
        intact.EnsureSuccess("backup-push --resume, intact records");
        Assert.Matches($"pgarchive: resumed from {c}: [1-9][0-9]* of", intact.Stderr);
    }

    /// <summary>
    /// The object is refused with the authentication message: the command fails (exit 1), or, for commands that carry on
    /// past one damaged backup (backup-list --detail, wal-show, delete), warns naming it and succeeds (exit 0).
    /// </summary>
    private static void AssertRefused(ProcessResult result, string key, string reason, int exitCode = 1)
    {
        var output = result.Stdout + "\n" + result.Stderr;
        var expected = $"'{key}' is not authenticated by the configured key ({reason}): the archive was written without authentication, with another key, or altered";
        Assert.True(output.Contains(expected, StringComparison.Ordinal), $"want \"{expected}\"; exit {result.ExitCode}:\n{result.Stderr}\n{result.Stdout}");
        Assert.True(result.ExitCode == exitCode, $"exit {result.ExitCode}, want {exitCode}:\n{result.Stderr}");

        Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
        Assert.DoesNotContain("unexpected error", output, StringComparison.Ordinal);
    }

    /// <summary>Changes one byte of <paramref name="key"/> (its record untouched), runs <paramref name="check"/>, puts the byte back.</summary>
    private async Task WithFlippedByteAsync(string key, Func<Task> check, bool anyByte = false)
    {
        var original = await FlipAsync(key, anyByte);
        try
        {
            await check();
        }
        finally
        {
            await File.WriteAllBytesAsync(PathOf(key), original, Token);
        }
    }

    /// <summary>
    /// Changes one byte of the stored object, in the middle; in JSON, a digit or hex digit of the long number or hash
    /// nearest the middle, so the JSON stays valid and only authentication can tell. Returns the original bytes.
    /// </summary>
    private async Task<byte[]> FlipAsync(string key, bool anyByte = false)
    {
        var path = PathOf(key);
        var original = await File.ReadAllBytesAsync(path, Token);
        var forged = (byte[])original.Clone();
        if (anyByte)
        {
            forged[forged.Length / 2] ^= 0x01;
        }
        else
        {
            var text = System.Text.Encoding.ASCII.GetString(original);
            var run = LongHexRun().Matches(text).OrderBy(m => Math.Abs(m.Index + (m.Length / 2) - (text.Length / 2))).First();
            var i = run.Index + (run.Length / 2);
            forged[i] = forged[i] switch
            {
                >= (byte)'0' and <= (byte)'9' => (byte)('0' + ((forged[i] - '0' + 1) % 10)),
                var letter => (byte)('a' + ((letter - 'a' + 1) % 6)),
            };
        }

        await File.WriteAllBytesAsync(path, forged, Token);
        return original;
    }

    /// <summary>Swaps two objects and their records, runs <paramref name="check"/>, swaps them back.</summary>
    private async Task SwappedAsync(string first, string second, Func<Task> check)
    {
        var saved = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var path in new[] { PathOf(first), RecordOf(first), PathOf(second), RecordOf(second) })
        {
            saved[path] = await File.ReadAllBytesAsync(path, Token);
        }

        await File.WriteAllBytesAsync(PathOf(first), saved[PathOf(second)], Token);
        await File.WriteAllBytesAsync(RecordOf(first), saved[RecordOf(second)], Token);
        await File.WriteAllBytesAsync(PathOf(second), saved[PathOf(first)], Token);
        await File.WriteAllBytesAsync(RecordOf(second), saved[RecordOf(first)], Token);
        try
        {
            await check();
        }
        finally
        {
            foreach (var (path, bytes) in saved)
            {
                await File.WriteAllBytesAsync(path, bytes, Token);
            }
        }
    }

    /// <summary>Puts <paramref name="from"/> and its record in place of <paramref name="to"/> and its record, runs <paramref name="check"/>, undoes it.</summary>
    private async Task RenamedAsync(string from, string to, Func<Task> check)
    {
        var saved = (await File.ReadAllBytesAsync(PathOf(to), Token), await File.ReadAllBytesAsync(RecordOf(to), Token));
        await File.WriteAllBytesAsync(PathOf(to), await File.ReadAllBytesAsync(PathOf(from), Token), Token);
        await File.WriteAllBytesAsync(RecordOf(to), await File.ReadAllBytesAsync(RecordOf(from), Token), Token);
        try
        {
            await check();
        }
        finally
        {
            await File.WriteAllBytesAsync(PathOf(to), saved.Item1, Token);
            await File.WriteAllBytesAsync(RecordOf(to), saved.Item2, Token);
        }
    }

    [GeneratedRegex("[0-9a-f]{16,}")]
    private static partial Regex LongHexRun();

    [GeneratedRegex(@"^basebackups_005/(base_[0-9A-F]{24}(?:_D_[0-9A-F]{24})?)")]
    private static partial Regex BackupOf();

    [GeneratedRegex(@"^wal_005/[0-9A-F]{24}\.[a-z0-9]+$")]
    private static partial Regex WalSegmentName();
}
