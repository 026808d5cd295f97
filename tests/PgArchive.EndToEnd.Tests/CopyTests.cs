namespace PgArchive.EndToEnd;

/// <summary>
/// copy end to end between two local-filesystem archives, with real PostgreSQL 15 and the CLI (<see cref="CopyScenario"/>):
/// the copy alone restores to a restore point with exactly its rows, byte for byte or re-encrypted with another key;
/// bad input is one line.
/// </summary>
public sealed class CopyTests(PgArchiveCli cli) : IAsyncLifetime
{
    private readonly ArchiveWorkspace _workspace = new();

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync() => _workspace.DisposeAsync();

    private static Dictionary<string, string?> NoSettings => [];

    [Fact]
    public async Task A_delta_copied_with_its_history_restores_from_the_copy_alone_to_a_restore_point_with_exact_rows()
    {
        var destination = new Dictionary<string, string?> { ["WALG_FILE_PREFIX"] = _workspace.CreateDirectory("copy") };

        var (expected, restored) = await CopyScenario.RunAsync(cli, _workspace, _workspace.FileArchiveSettings, destination);

        Assert.Equal(expected, restored);
    }

    [Fact]
    public async Task A_copy_re_encrypted_from_key_A_to_key_B_restores_and_verifies_with_key_B_alone_to_a_restore_point_with_exact_rows()
    {
        var source = new Dictionary<string, string?>(_workspace.FileArchiveSettings) { ["PGARCHIVE_AUTHENTICATE"] = "true" };
        var destination = new Dictionary<string, string?> { ["WALG_FILE_PREFIX"] = _workspace.CreateDirectory("copy"), ["PGARCHIVE_AUTHENTICATE"] = "true" };
        var keyA = LibsodiumKey(source);
        LibsodiumKey(destination);

        var (expected, restored) = await CopyScenario.RunAsync(cli, _workspace, source, destination, async (from, to) =>
        {
            var refused = await cli.RunAsync(NoSettings, "copy", "--from", from, "--to", to, "-b", "LATEST");
            Assert.Equal(2, refused.ExitCode);
            Assert.Equal("pgarchive: configuration error: --from and --to encrypt differently (two libsodium keys): a byte-for-byte copy would not be readable " +
                "with the --to settings; add --re-encrypt to decrypt with the --from key and encrypt with the --to one, or give both the same encryption settings.",
                refused.Stderr.Trim());
        }, "--re-encrypt");

        Assert.Equal(expected, restored);
        var noServer = new Dictionary<string, string?>(destination) { ["PGHOST"] = _workspace.PathFor("no-server"), ["PGPORT"] = "1" };
        var latest = (await cli.RunAsync(destination, "backup-list")).EnsureSuccess("backup-list of the copy").Stdout.Trim().Split('\n')[^1].Split(' ')[0];
        var verify = await cli.RunAsync(noServer, "wal-verify", "integrity", "--backup-name", latest);
        Assert.True(verify.ExitCode == 0, verify.Stdout + verify.Stderr);
        Assert.Contains("[wal-verify] integrity check status: OK", verify.Stdout, StringComparison.Ordinal);
        var withKeyA = new Dictionary<string, string?>(destination) { ["WALG_LIBSODIUM_KEY"] = keyA, ["PGARCHIVE_AUTHENTICATE"] = null };
        var refusedKeyA = await cli.RunAsync(withKeyA, "backup-fetch", _workspace.PathFor("with-key-a"), "LATEST");
        Assert.Equal(1, refusedKeyA.ExitCode);
        Assert.Matches("^pgarchive: error: '[^']+tar_partitions/[^']+' is corrupt or was not written with this configuration's encryption: ", refusedKeyA.Stderr.Trim().Split('\n')[^1]);
    }

    /// <summary>Gives <paramref name="settings"/> a libsodium key of its own (base64); returns it.</summary>
    private static string LibsodiumKey(Dictionary<string, string?> settings)
    {
        var key = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        settings["WALG_LIBSODIUM_KEY"] = key;
        settings["WALG_LIBSODIUM_KEY_TRANSFORM"] = "base64";
        return key;
    }

    [Fact]
    public async Task Copy_to_the_same_store_and_a_missing_config_file_are_one_line_configuration_errors()
    {
        var from = CopyScenario.ConfigFile(_workspace, "from.json", _workspace.FileArchiveSettings);
        var same = CopyScenario.ConfigFile(_workspace, "same.json", new Dictionary<string, string?> { ["WALG_FILE_PREFIX"] = "file://" + _workspace.ArchiveDirectory + "/" });

        var toItself = await cli.RunAsync(NoSettings, "copy", "--from", from, "--to", same);
        var missing = await cli.RunAsync(NoSettings, "copy", "--from", from, "--to", _workspace.PathFor("absent.json"));

        Assert.Equal(2, toItself.ExitCode);
        Assert.Equal($"pgarchive: configuration error: --from and --to name the same store (file:{_workspace.ArchiveDirectory}): copy needs two different stores.", toItself.Stderr.Trim());
        Assert.Equal(2, missing.ExitCode);
        Assert.Equal($"pgarchive: configuration error: --to '{_workspace.PathFor("absent.json")}': no such config file.", missing.Stderr.Trim());
    }
}
