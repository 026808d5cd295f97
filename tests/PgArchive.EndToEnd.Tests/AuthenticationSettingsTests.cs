using System.Security.Cryptography;
using PgArchive.Support;

namespace PgArchive.EndToEnd;

/// <summary>
/// The CLI's authentication settings without a cluster: the key never shows in output, logs, the archive, wal-push's
/// markers or any process's command line, on success or failure; settings that cannot work are configuration errors
/// naming the variable; and a marker written by a wal-push without authentication never lets an authenticated push
/// skip storing the segment's record.
/// </summary>
public sealed class AuthenticationSettingsTests(PgArchiveCli cli) : IAsyncLifetime
{
    private const string First = "000000010000000000000021";
    private const string Second = "000000010000000000000022";
    private readonly ArchiveWorkspace _workspace = new();
    private readonly string _key = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
    private readonly string _wrongKey = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
    private readonly string _shortKey = "short-auth-key-" + Guid.NewGuid().ToString("N")[..8];
    private readonly List<string> _outputs = [];

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync() => _workspace.DisposeAsync();

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private Dictionary<string, string?> Authenticated(string key) => new(_workspace.FileArchiveSettings)
    {
        ["PGARCHIVE_AUTH_KEY"] = key,
        ["PGARCHIVE_AUTH_KEY_TRANSFORM"] = "hex",
    };

    /// <summary>A pg_wal directory holding two segments, both marked ready.</summary>
    private async Task<string> WalDirectoryAsync(string name, string first = First, string second = Second)
    {
        var wal = _workspace.CreateDirectory(name);
        Directory.CreateDirectory(Path.Combine(wal, "archive_status"));
        foreach (var segment in new[] { first, second })
        {
            await File.WriteAllBytesAsync(Path.Combine(wal, segment), WalSegments.Create(segment, RandomNumberGenerator.GetBytes), Token);
            await File.WriteAllTextAsync(Path.Combine(wal, "archive_status", segment + ".ready"), "", Token);
        }

        ProcessRunner.GiveToOsUser(wal);
        return wal;
    }

    private static void AssertConfigurationError(ProcessResult result, string expected)
    {
        Assert.True(result.ExitCode == 2, $"exit {result.ExitCode}: {result.Stderr}");
        Assert.Contains(expected, result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_marker_written_without_authentication_or_with_another_key_does_not_let_a_push_skip_the_record()
    {
        var wal = await WalDirectoryAsync("pg_wal");
        (await cli.RunAsync(_workspace.FileArchiveSettings, "wal-push", Path.Combine(wal, First))).EnsureSuccess("wal-push without authentication");
        Assert.True(File.Exists(Path.Combine(wal, "walg_data", "walg_archive_status", Second)), "the unauthenticated push uploads the ready segment ahead and marks it");
        File.Move(Path.Combine(wal, "archive_status", First + ".ready"), Path.Combine(wal, "archive_status", First + ".done")); // as PostgreSQL does

        var settings = Authenticated(_key);
        (await cli.RunAsync(settings, "wal-push", Path.Combine(wal, Second))).EnsureSuccess("wal-push with authentication");

        Assert.True(File.Exists(Path.Combine(_workspace.ArchiveDirectory, "pgarchive_auth", "wal_005", Second + ".lz4")),
            "the authenticated push must store the segment's record, not trust the marker of an unauthenticated push");
        (await cli.RunAsync(settings, "wal-fetch", Second, _workspace.PathFor("fetched"))).EnsureSuccess("wal-fetch with authentication");
        var first = await cli.RunAsync(settings, "wal-fetch", First, _workspace.PathFor("fetched-first"));
        Assert.Equal(1, first.ExitCode);
        Assert.Contains($"'wal_005/{First}.lz4' is not authenticated by the configured key (sidecar missing)", first.Stderr, StringComparison.Ordinal);

        // The key changes: a marker written under the old key does not pass; the push meets the segment signed with the
        // old key and fails loudly instead of reporting it archived.
        const string third = "000000010000000000000023", fourth = "000000010000000000000024";
        var other = await WalDirectoryAsync("pg_wal_rotated", third, fourth);
        (await cli.RunAsync(settings, "wal-push", Path.Combine(other, third))).EnsureSuccess("wal-push with the first key");
        Assert.True(File.Exists(Path.Combine(other, "walg_data", "walg_archive_status", fourth)));
        var rotated = await cli.RunAsync(Authenticated(_wrongKey), "wal-push", Path.Combine(other, fourth));
        Assert.True(rotated.ExitCode == 1, $"exit {rotated.ExitCode}: a push under another key must not trust the old key's marker\n{rotated.Stderr}");
        Assert.Contains($"'wal_005/{fourth}.lz4' is not authenticated by the configured key (MAC mismatch)", rotated.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_authentication_key_stays_out_of_output_files_and_command_lines()
    {
        var settings = Authenticated(_key);
        settings["WALG_LOG_LEVEL"] = "DEVEL";
        var keyFile = _workspace.PathFor("auth.key");
        await File.WriteAllTextAsync(keyFile, _key + "\n", Token);
        File.SetUnixFileMode(keyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        ProcessRunner.GiveToOsUser(keyFile);
        var fromFile = new Dictionary<string, string?>(settings) { ["PGARCHIVE_AUTH_KEY"] = null, ["PGARCHIVE_AUTH_KEY_PATH"] = keyFile };
        var wal = await WalDirectoryAsync("pg_wal");

        await using (var scanner = CommandLineScanner.Start([_key, _wrongKey, _shortKey]))
        {
            Keep((await cli.RunAsync(settings, "wal-push", Path.Combine(wal, First))).EnsureSuccess("wal-push"));
            Keep((await cli.RunAsync(fromFile, "wal-push", Path.Combine(wal, Second))).EnsureSuccess("wal-push with the key in a file"));
            Keep((await cli.RunAsync(settings, "wal-fetch", First, _workspace.PathFor("fetched"))).EnsureSuccess("wal-fetch"));
            Keep((await cli.RunAsync(fromFile, "backup-list")).EnsureSuccess("backup-list"));

            var wrong = await cli.RunAsync(Authenticated(_wrongKey), "wal-fetch", First, _workspace.PathFor("wrong"));
            Assert.Equal(1, wrong.ExitCode);
            Assert.Contains("(MAC mismatch)", wrong.Stderr, StringComparison.Ordinal);
            Keep(wrong);
            var shortKey = await cli.RunAsync(new Dictionary<string, string?>(settings) { ["PGARCHIVE_AUTH_KEY"] = _shortKey, ["PGARCHIVE_AUTH_KEY_TRANSFORM"] = null }, "backup-list");
            AssertConfigurationError(shortKey, "The authentication key in PGARCHIVE_AUTH_KEY is 23 bytes long; it must be at least 32");
            Keep(shortKey);
            var notHex = await cli.RunAsync(new Dictionary<string, string?>(settings) { ["PGARCHIVE_AUTH_KEY"] = _shortKey }, "backup-list");
            AssertConfigurationError(notHex, "The authentication key in PGARCHIVE_AUTH_KEY is not valid hex (PGARCHIVE_AUTH_KEY_TRANSFORM=hex).");
            Keep(notHex);
            await Task.Delay(500, Token); // let the detached wal-prefetch run while the scanner watches
            scanner.AssertClean();
            Assert.True(scanner.Saw(cli.Executable, " wal-prefetch " + First), "the scanner never saw wal-fetch's wal-prefetch child:\n" + scanner.Describe(cli.Executable));
        }

        foreach (var file in Directory.EnumerateFiles(_workspace.ArchiveDirectory, "*", SearchOption.AllDirectories)
            .Concat(Directory.EnumerateFiles(Path.Combine(wal, "walg_data"), "*", SearchOption.AllDirectories)))
        {
            var bytes = await File.ReadAllBytesAsync(file, Token);
            _outputs.Add(System.Text.Encoding.Latin1.GetString(bytes));
        }

        Assert.True(_outputs.Count > 8, $"{_outputs.Count} outputs and files collected");
        foreach (var secret in new[] { _key, _wrongKey, _shortKey })
        {
            Assert.All(_outputs, text => Assert.DoesNotContain(secret, text, StringComparison.OrdinalIgnoreCase));
        }
    }

    [Fact]
    public async Task Authentication_settings_that_cannot_work_are_configuration_errors_that_name_them()
    {
        var prefix = _workspace.FileArchiveSettings;
        AssertConfigurationError(await cli.RunAsync(new Dictionary<string, string?>(prefix) { ["PGARCHIVE_AUTHENTICATE"] = "true" }, "backup-list"),
            "needs libsodium encryption (WALG_LIBSODIUM_KEY or WALG_LIBSODIUM_KEY_PATH); otherwise set PGARCHIVE_AUTH_KEY or PGARCHIVE_AUTH_KEY_PATH.");
        AssertConfigurationError(await cli.RunAsync(new Dictionary<string, string?>(prefix) { ["PGARCHIVE_AUTHENTICATE"] = "false", ["PGARCHIVE_AUTH_KEY"] = _key }, "backup-list"),
            "PGARCHIVE_AUTHENTICATE=false contradicts PGARCHIVE_AUTH_KEY / PGARCHIVE_AUTH_KEY_PATH");
        AssertConfigurationError(await cli.RunAsync(new Dictionary<string, string?>(prefix) { ["PGARCHIVE_AUTH_KEY"] = _key, ["PGARCHIVE_AUTH_KEY_TRANSFORM"] = "rot13" }, "backup-list"),
            "PGARCHIVE_AUTH_KEY_TRANSFORM must be none, base64 or hex, not 'rot13'.");
        AssertConfigurationError(await cli.RunAsync(new Dictionary<string, string?>(prefix) { ["PGARCHIVE_AUTH_KEY_PATH"] = _workspace.PathFor("no-such-key") }, "backup-list"),
            "(PGARCHIVE_AUTH_KEY_PATH): it does not exist.");
    }

    private void Keep(ProcessResult result) => _outputs.Add(result.Stdout + "\n" + result.Stderr);
}
