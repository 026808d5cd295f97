using System.Security.Cryptography;
using PgArchive.Support;

namespace PgArchive.EndToEnd;

/// <summary>
/// The skeleton's PITR scenario with other codecs and WAL-G-compatible encryption, configured only through
/// WAL-G's variables: zstd + libsodium, and brotli + OpenPGP. Afterwards the stored objects are opened with
/// tools that are not PgArchive (python3-nacl with WAL-G's framing, gpg, zstd, brotli, tar), and the failure
/// paths run through the CLI: wrong key, bad settings.
/// </summary>
public sealed class EncryptedPitrTests(PgArchiveCli cli, GpgHome gpg) : IClassFixture<GpgHome>, IAsyncLifetime
{
    private const int SegmentSize = 16 << 20;
    private static readonly string SecretStreamScript = Path.Combine(AppContext.BaseDirectory, "Interop", "walg_secretstream.py");
    private readonly ArchiveWorkspace _workspace = new();
    private readonly string _libsodiumKeyHex = Convert.ToHexString(RandomNumberGenerator.GetBytes(32));

    public async ValueTask InitializeAsync() => await DebianPackages.EnsureInstalledAsync("python3", "python3-nacl", "zstd", "brotli", "tar");

    public ValueTask DisposeAsync() => _workspace.DisposeAsync();

    private Dictionary<string, string?> LibsodiumSettings(string keyHex) => new(_workspace.FileArchiveSettings)
    {
        ["WALG_COMPRESSION_METHOD"] = "zstd",
        ["WALG_ZSTD_LEVEL"] = "better",
        ["WALG_LIBSODIUM_KEY"] = keyHex,
        ["WALG_LIBSODIUM_KEY_TRANSFORM"] = "hex",
    };

    private string Archived(string pattern, string under = "wal_005") =>
        Directory.GetFiles(Path.Combine(_workspace.ArchiveDirectory, under), pattern, SearchOption.AllDirectories).Order(StringComparer.Ordinal).First();

    private static void AssertCleanFailure(ProcessResult result, int exitCode, string expectedText, string? secret = null)
    {
        Assert.True(result.ExitCode == exitCode, $"exit {result.ExitCode}, want {exitCode}; stderr: {result.Stderr}");
        Assert.Contains(expectedText, result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Stderr, StringComparison.Ordinal);
        if (secret is not null)
        {
            Assert.DoesNotContain(secret, result.Stderr + result.Stdout, StringComparison.OrdinalIgnoreCase);
        }
    }

    [Fact]
    public async Task Pitr_with_zstd_and_libsodium_restores_and_walg_framing_opens_the_objects()
    {
        var settings = LibsodiumSettings(_libsodiumKeyHex);

        var report = await PitrScenario.RunAsync(cli, _workspace, settings);

        Assert.Equal([1, 2, 3], report.MarkersRestored);
        Assert.True(report.SegmentsFetched >= 2, $"recovery should replay archived segments, fetched {report.SegmentsFetched}");
        Assert.All(Directory.GetFiles(Path.Combine(_workspace.ArchiveDirectory, "wal_005")), f => Assert.EndsWith(".zst", f, StringComparison.Ordinal));
        var part = Archived("part_001.tar.zst", "basebackups_005");
        Assert.True(File.Exists(Path.Combine(_workspace.ArchiveDirectory, "basebackups_005", report.BackupName + "_backup_stop_sentinel.json")));

        // Not PgArchive: libsodium through python3-nacl with WAL-G's framing, then the zstd tool.
        var segment = Archived("0000000*.zst");
        var stored = await File.ReadAllBytesAsync(segment, TestContext.Current.CancellationToken);
        Assert.NotEqual(new byte[] { 0x28, 0xB5, 0x2F, 0xFD }, stored[..4]); // encrypted: no zstd magic in the clear
        var decrypted = (await ExternalTool.RunAsync("/usr/bin/python3", [SecretStreamScript, "decrypt"], stored,
            new Dictionary<string, string> { ["WALG_TEST_LIBSODIUM_KEY_HEX"] = _libsodiumKeyHex })).EnsureSuccess("walg_secretstream.py decrypt");
        Assert.Equal("final", decrypted.Stderr);
        var wal = (await ExternalTool.RunAsync("zstd", ["-d", "-c"], decrypted.Stdout)).EnsureSuccess("zstd -d");
        Assert.Equal(SegmentSize, wal.Stdout.Length);

        var partPlain = (await ExternalTool.RunAsync("/usr/bin/python3", [SecretStreamScript, "decrypt"], await File.ReadAllBytesAsync(part, TestContext.Current.CancellationToken),
            new Dictionary<string, string> { ["WALG_TEST_LIBSODIUM_KEY_HEX"] = _libsodiumKeyHex })).EnsureSuccess("walg_secretstream.py decrypt part");
        var tar = (await ExternalTool.RunAsync("zstd", ["-d", "-c"], partPlain.Stdout)).EnsureSuccess("zstd -d part");
        var listing = (await ExternalTool.RunAsync("tar", ["-t"], tar.Stdout)).EnsureSuccess("tar -t").StdoutText;
        Assert.Contains("PG_VERSION", listing, StringComparison.Ordinal);

        // The wrong key: wal-fetch and backup-fetch fail naming the object and write nothing.
        var otherKey = Convert.ToHexString(RandomNumberGenerator.GetBytes(32));
        var wrong = LibsodiumSettings(otherKey);
        var walName = Path.GetFileNameWithoutExtension(segment);
        var destination = _workspace.PathFor("fetched-wal");
        var walFetch = await cli.RunAsync(wrong, "wal-fetch", walName, destination);
        AssertCleanFailure(walFetch, 1, $"wal_005/{walName}.zst", otherKey);
        Assert.Contains("key differs", walFetch.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(destination));

        var restoreDirectory = _workspace.CreateDirectory("restored-wrong-key");
        var backupFetch = await cli.RunAsync(wrong, "backup-fetch", Path.Combine(restoreDirectory, "data"), "LATEST");
        AssertCleanFailure(backupFetch, 1, "/tar_partitions/", otherKey); // whichever partition the parallel restore opened first
        Assert.Contains("key differs", backupFetch.Stderr, StringComparison.Ordinal);
        Assert.Equal([PgArchive.Backups.IncompleteRestoreMarker.FileName], Directory.EnumerateFileSystemEntries(Path.Combine(restoreDirectory, "data")).Select(Path.GetFileName));
    }

    [Fact]
    public async Task Pitr_with_brotli_and_openpgp_restores_and_gpg_opens_the_objects()
    {
        var keyFile = _workspace.PathFor("walg-pgp-key.asc");
        await File.WriteAllTextAsync(keyFile, gpg.Rsa.ArmoredSecret, TestContext.Current.CancellationToken);
        File.SetUnixFileMode(keyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        ProcessRunner.GiveToOsUser(keyFile);
        var settings = new Dictionary<string, string?>(_workspace.FileArchiveSettings)
        {
            ["WALG_COMPRESSION_METHOD"] = "brotli",
            ["WALG_PGP_KEY_PATH"] = keyFile,
            ["WALG_PGP_KEY_PASSPHRASE"] = GpgHome.Passphrase,
        };

        var report = await PitrScenario.RunAsync(cli, _workspace, settings);

        Assert.Equal([1, 2, 3], report.MarkersRestored);
        Assert.True(report.SegmentsFetched >= 2, $"recovery should replay archived segments, fetched {report.SegmentsFetched}");
        Assert.All(Directory.GetFiles(Path.Combine(_workspace.ArchiveDirectory, "wal_005")), f => Assert.EndsWith(".br", f, StringComparison.Ordinal));

        // Not PgArchive: gpg decrypts, the brotli tool decompresses, tar lists.
        var segment = Archived("0000000*.br");
        var decrypted = (await gpg.GpgAsync(["--decrypt", segment], GpgHome.Passphrase)).EnsureSuccess("gpg --decrypt");
        var wal = (await ExternalTool.RunAsync("brotli", ["-d", "-c"], decrypted.Stdout)).EnsureSuccess("brotli -d");
        Assert.Equal(SegmentSize, wal.Stdout.Length);

        var pgControl = Archived("pg_control.tar.br", "basebackups_005");
        var tar = (await ExternalTool.RunAsync("brotli", ["-d", "-c"], (await gpg.GpgAsync(["--decrypt", pgControl], GpgHome.Passphrase)).EnsureSuccess("gpg --decrypt pg_control").Stdout))
            .EnsureSuccess("brotli -d pg_control");
        Assert.Contains("global/pg_control", (await ExternalTool.RunAsync("tar", ["-t"], tar.Stdout)).EnsureSuccess("tar -t").StdoutText, StringComparison.Ordinal);

        // Without the passphrase the secret key stays locked: a configuration error, naming the setting.
        var locked = new Dictionary<string, string?>(settings) { ["WALG_PGP_KEY_PASSPHRASE"] = null };
        var walName = Path.GetFileNameWithoutExtension(segment);
        var fetch = await cli.RunAsync(locked, "wal-fetch", walName, _workspace.PathFor("fetched"));
        AssertCleanFailure(fetch, 2, "WALG_PGP_KEY_PASSPHRASE");
        Assert.False(File.Exists(_workspace.PathFor("fetched")));
    }

    [Fact]
    public async Task Encryption_settings_that_cannot_work_are_configuration_errors_that_name_them()
    {
        var prefix = _workspace.FileArchiveSettings;
        var shortKey = new Dictionary<string, string?>(prefix) { ["WALG_LIBSODIUM_KEY"] = "tooShortSecret" };
        var wrongTransform = new Dictionary<string, string?>(prefix) { ["WALG_LIBSODIUM_KEY"] = "ab", ["WALG_LIBSODIUM_KEY_TRANSFORM"] = "rot13" };
        var missingFile = new Dictionary<string, string?>(prefix) { ["WALG_LIBSODIUM_KEY_PATH"] = _workspace.PathFor("no-such-key") };
        var legacyGpg = new Dictionary<string, string?>(prefix) { ["WALE_GPG_KEY_ID"] = "0xDEADBEEF" };
        var zstdLevelElsewhere = new Dictionary<string, string?>(prefix) { ["WALG_ZSTD_LEVEL"] = "best" };
        var notAKey = new Dictionary<string, string?>(prefix) { ["WALG_PGP_KEY"] = "-----BEGIN PGP PUBLIC KEY BLOCK-----\\nsecretgarbage\\n-----END PGP PUBLIC KEY BLOCK-----" };

        AssertCleanFailure(await cli.RunAsync(shortKey, "backup-list"), 2, "WALG_LIBSODIUM_KEY", "tooShortSecret");
        AssertCleanFailure(await cli.RunAsync(wrongTransform, "backup-list"), 2, "WALG_LIBSODIUM_KEY_TRANSFORM must be none, base64 or hex");
        AssertCleanFailure(await cli.RunAsync(missingFile, "backup-list"), 2, "WALG_LIBSODIUM_KEY_PATH");
        AssertCleanFailure(await cli.RunAsync(legacyGpg, "backup-list"), 2, "WALG_PGP_KEY_PATH");
        AssertCleanFailure(await cli.RunAsync(zstdLevelElsewhere, "backup-list"), 2, "WALG_ZSTD_LEVEL is set but WALG_COMPRESSION_METHOD is 'lz4'");
        AssertCleanFailure(await cli.RunAsync(notAKey, "backup-list"), 2, "WALG_PGP_KEY", "secretgarbage");
    }

    [Fact]
    public async Task Wal_archived_with_four_methods_over_time_is_fetched_by_one_configuration()
    {
        var segments = new Dictionary<string, byte[]>();
        var methods = new[] { ("lz4", "000000010000000000000011"), ("zstd", "000000010000000000000012"), ("lzma", "000000010000000000000013"), ("brotli", "000000010000000000000014") };
        foreach (var (method, name) in methods)
        {
            var path = _workspace.PathFor(name);
            segments[name] = PgArchive.Support.WalSegments.Create(name, RandomNumberGenerator.GetBytes);
            await File.WriteAllBytesAsync(path, segments[name], TestContext.Current.CancellationToken);
            ProcessRunner.GiveToOsUser(path);
            var push = new Dictionary<string, string?>(LibsodiumSettings(_libsodiumKeyHex)) { ["WALG_COMPRESSION_METHOD"] = method, ["WALG_ZSTD_LEVEL"] = null };
            (await cli.RunAsync(push, "wal-push", path)).EnsureSuccess("wal-push " + method);
        }

        var reader = new Dictionary<string, string?>(LibsodiumSettings(_libsodiumKeyHex)) { ["WALG_COMPRESSION_METHOD"] = null, ["WALG_ZSTD_LEVEL"] = null };
        foreach (var (_, name) in methods)
        {
            var destination = _workspace.PathFor("fetched-" + name);
            (await cli.RunAsync(reader, "wal-fetch", name, destination)).EnsureSuccess("wal-fetch " + name);
            Assert.Equal(segments[name], await File.ReadAllBytesAsync(destination, TestContext.Current.CancellationToken));
        }
    }
}
