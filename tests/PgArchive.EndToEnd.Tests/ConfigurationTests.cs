namespace PgArchive.EndToEnd;

/// <summary>Where pgarchive takes its settings from: WAL-G's environment variables, a WAL-G-style JSON file, a WAL-E envdir.</summary>
public sealed class ConfigurationTests(PgArchiveCli cli) : IAsyncLifetime
{
    private readonly ArchiveWorkspace _workspace = new();

    public async ValueTask InitializeAsync()
    {
        // one complete-looking backup in the workspace's archive, so backup-list shows where a setting pointed
        var sentinel = Path.Combine(_workspace.ArchiveDirectory, "basebackups_005", "base_000000010000000000000007_backup_stop_sentinel.json");
        Directory.CreateDirectory(Path.GetDirectoryName(sentinel)!);
        await File.WriteAllTextAsync(sentinel, "{}");
        ProcessRunner.GiveToOsUser(_workspace.Root);
    }

    public ValueTask DisposeAsync() => _workspace.DisposeAsync();

    private async Task<string> WriteAsync(string name, string content)
    {
        var path = _workspace.PathFor(name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await File.WriteAllTextAsync(path, content, TestContext.Current.CancellationToken);
        ProcessRunner.GiveToOsUser(path);
        return path;
    }

    [Fact]
    public async Task Config_file_supplies_settings_in_WalG_json_form()
    {
        var config = await WriteAsync("walg.json", $$"""{ "WALG_FILE_PREFIX": "{{_workspace.ArchiveDirectory}}", "WALG_TAR_SIZE_THRESHOLD": 1073741823 }""");

        var result = await cli.RunAsync(new Dictionary<string, string?>(), "--config", config, "backup-list");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("base_000000010000000000000007", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Environment_wins_over_the_config_file()
    {
        var config = await WriteAsync("walg.json", """{ "WALG_FILE_PREFIX": "/nonexistent/elsewhere" }""");

        var result = await cli.RunAsync(_workspace.FileArchiveSettings, "--config", config, "backup-list");

        Assert.Contains("base_000000010000000000000007", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Config_path_comes_from_WALG_CONFIG_PATH_when_no_option_is_given()
    {
        var config = await WriteAsync("walg.json", $$"""{ "WALG_FILE_PREFIX": "{{_workspace.ArchiveDirectory}}" }""");

        var result = await cli.RunAsync(new Dictionary<string, string?> { ["WALG_CONFIG_PATH"] = config }, "backup-list");

        Assert.Contains("base_000000010000000000000007", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Envdir_supplies_settings_as_WalE_envdir_does_and_wins_over_the_environment()
    {
        var envdir = _workspace.PathFor("env");
        await WriteAsync("env/WALG_FILE_PREFIX", _workspace.ArchiveDirectory + "\n");
        await WriteAsync("env/WALG_COMPRESSION_METHOD", "lz4");

        var result = await cli.RunAsync(new Dictionary<string, string?> { ["WALG_FILE_PREFIX"] = "/nonexistent/elsewhere" }, "--envdir", envdir, "backup-list");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("base_000000010000000000000007", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unknown_compression_method_is_a_configuration_error_naming_the_variable()
    {
        var settings = PitrScenario.Merge(_workspace.FileArchiveSettings, new Dictionary<string, string?> { ["WALG_COMPRESSION_METHOD"] = "zip" });
        var segment = await WriteAsync("000000010000000000000001", "x");

        var result = await cli.RunAsync(settings, "wal-push", segment);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("WALG_COMPRESSION_METHOD", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Secrets_never_reach_output_or_logs_even_at_debug_level()
    {
        const string Password = "pgpass-9f3c7e1b-secret";
        const string AwsSecret = "aws-secret-5d2a8c4e-secret";
        const string SodiumKey = "sodium-key-0b6e4f9a-secret-padding-to-32";
        var settings = PitrScenario.Merge(_workspace.FileArchiveSettings, new Dictionary<string, string?>
        {
            ["PGPASSWORD"] = Password, ["PGHOST"] = "127.0.0.1", ["PGPORT"] = "1", ["PGUSER"] = "postgres",
            ["AWS_SECRET_ACCESS_KEY"] = AwsSecret, ["WALG_LIBSODIUM_KEY"] = SodiumKey, ["PGARCHIVE_LOG_LEVEL"] = "Trace",
        });
        var pgdata = _workspace.PathFor("pgdata");
        await WriteAsync("pgdata/PG_VERSION", "15\n");
        await WriteAsync("pgdata/global/pg_control", new string('\0', 8192));
        var segment = await WriteAsync("000000010000000000000003", "");
        await File.WriteAllBytesAsync(segment, PgArchive.Support.WalSegments.Filled("000000010000000000000003", (byte)'w'), TestContext.Current.CancellationToken);

        var outputs = new[]
        {
            await cli.RunAsync(settings, "backup-push", pgdata),
            await cli.RunAsync(settings, "wal-push", segment),
            await cli.RunAsync(settings, "wal-fetch", "000000010000000000000003", _workspace.PathFor("fetched")),
            await cli.RunAsync(settings, "wal-fetch", "000000010000000000000009", _workspace.PathFor("missing")),
            await cli.RunAsync(settings, "backup-list", "--json"),
            await cli.RunAsync(settings, "backup-fetch", _workspace.PathFor("restore"), "base_000000010000000000000099"),
        };

        Assert.Contains(outputs, o => o.Stderr.Contains("trce:", StringComparison.Ordinal) || o.Stderr.Contains("dbug:", StringComparison.Ordinal) || o.Stderr.Contains("info:", StringComparison.Ordinal));
        foreach (var output in outputs)
        {
            foreach (var secret in new[] { Password, AwsSecret, SodiumKey })
            {
                Assert.DoesNotContain(secret, output.Stdout + output.Stderr, StringComparison.Ordinal);
            }
        }
    }
}
