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
    public async Task Envdir_libpq_settings_reach_the_PostgreSQL_connection_and_win_over_the_environment()
    {
        var archive = new Dictionary<string, string?> { ["WALG_FILE_PREFIX"] = _workspace.PathFor("pushed") };
        await using var cluster = await PostgresCluster.StartAsync(_workspace.PathFor("source"), "true", archive);
        var envdir = _workspace.PathFor("env");
        foreach (var (name, value) in cluster.LibpqEnvironment)
        {
            await WriteAsync("env/" + name, value + "\n");
        }

        // The environment points elsewhere: a port nothing listens on, a role that does not exist.
        var environment = PitrScenario.Merge(archive, new Dictionary<string, string?> { ["PGHOST"] = "127.0.0.1", ["PGPORT"] = "1", ["PGUSER"] = "no_such_role" });
        var result = await cli.RunAsync(environment, "--envdir", envdir, "backup-push", cluster.DataDirectory);

        Assert.True(result.ExitCode == 0, "backup-push with PGHOST/PGPORT/PGUSER/PGDATABASE in the envdir failed:\n" + result.Stderr);
        Assert.Contains("base_", (await cli.RunAsync(archive, "backup-list")).Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Config_file_libpq_settings_reach_the_PostgreSQL_connection_when_the_environment_has_none()
    {
        var pushed = _workspace.PathFor("pushed");
        await using var cluster = await PostgresCluster.StartAsync(_workspace.PathFor("source"), "true", new Dictionary<string, string?>());
        var config = await WriteAsync("walg.json", $$"""
            { "WALG_FILE_PREFIX": "{{pushed}}", "PGHOST": "127.0.0.1", "PGPORT": {{cluster.Port}}, "PGUSER": "postgres", "PGDATABASE": "postgres" }
            """);

        var result = await cli.RunAsync(new Dictionary<string, string?>(), "--config", config, "backup-push", cluster.DataDirectory);

        Assert.True(result.ExitCode == 0, "backup-push with PGHOST/PGPORT/PGUSER/PGDATABASE in the config file failed:\n" + result.Stderr);
        Assert.Contains("base_", (await cli.RunAsync(new Dictionary<string, string?>(), "--config", config, "backup-list")).Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Password_settings_from_envdir_and_config_file_reach_the_connection_but_never_the_output()
    {
        var password = "pgpw-" + Guid.NewGuid().ToString("N");
        var wrongPassword = "pgpw-wrong-" + Guid.NewGuid().ToString("N");
        var archive = new Dictionary<string, string?> { ["WALG_FILE_PREFIX"] = _workspace.PathFor("pushed") };
        await using var cluster = await PostgresCluster.StartAsync(_workspace.PathFor("source"), "true", archive);
        await cluster.CreatePasswordRoleAsync("secret_user", password);
        var environment = PitrScenario.Merge(archive, cluster.LibpqEnvironment);
        environment["PGUSER"] = "secret_user";
        environment["PGPASSWORD"] = wrongPassword;
        var envdir = _workspace.PathFor("env");
        await WriteAsync("env/PGPASSWORD", password);
        var passfile = await WriteAsync("pgpass", $"127.0.0.1:{cluster.Port}:postgres:secret_user:{password}\n");
        File.SetUnixFileMode(passfile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var config = await WriteAsync("walg.json", $$"""{ "PGPASSFILE": "{{passfile}}" }""");
        var environmentWithoutPassword = new Dictionary<string, string?>(environment) { ["PGPASSWORD"] = null };
        var unsetting = _workspace.PathFor("unset");
        await WriteAsync("unset/PGPASSWORD", "");

        var refused = await cli.RunAsync(environment, "backup-push", cluster.DataDirectory);
        var fromEnvdir = await cli.RunAsync(environment, "--envdir", envdir, "backup-push", cluster.DataDirectory);
        var fromPassfile = await cli.RunAsync(environmentWithoutPassword, "--config", config, "backup-push", cluster.DataDirectory);
        // An empty envdir file unsets the environment's wrong PGPASSWORD, so that the password file is used.
        var unset = await cli.RunAsync(environment, "--config", config, "--envdir", unsetting, "backup-push", cluster.DataDirectory);

        Assert.True(refused.ExitCode == 1 && refused.Stderr.Contains("Cannot connect to PostgreSQL", StringComparison.Ordinal),
            "the environment's wrong password should be refused:\n" + refused.Stderr);
        Assert.True(fromEnvdir.ExitCode == 0, "backup-push with PGPASSWORD in the envdir failed:\n" + fromEnvdir.Stderr);
        Assert.True(fromPassfile.ExitCode == 0, "backup-push with PGPASSFILE in the config file failed:\n" + fromPassfile.Stderr);
        Assert.True(unset.ExitCode == 0, "backup-push with PGPASSWORD unset by an empty envdir file failed:\n" + unset.Stderr);
        foreach (var output in new[] { refused, fromEnvdir, fromPassfile, unset })
        {
            Assert.DoesNotContain(password, output.Stdout + output.Stderr, StringComparison.Ordinal);
            Assert.DoesNotContain(wrongPassword, output.Stdout + output.Stderr, StringComparison.Ordinal);
        }
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
