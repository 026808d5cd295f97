namespace PgArchive.EndToEnd;

/// <summary>Expected failures: a clear one-line message, a documented exit code, no stack trace, nothing half-written.</summary>
public sealed class BadInputTests(PgArchiveCli cli) : IAsyncLifetime
{
    private readonly ArchiveWorkspace _workspace = new();

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync() => _workspace.DisposeAsync();

    private static void AssertCleanFailure(ProcessResult result, int exitCode, string expectedText)
    {
        Assert.True(result.ExitCode == exitCode, $"exit {result.ExitCode}, want {exitCode}; stderr: {result.Stderr}");
        Assert.Contains(expectedText, result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", result.Stderr, StringComparison.Ordinal);
        Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries), line => line.StartsWith("pgarchive", StringComparison.Ordinal));
    }

    [Fact]
    public async Task No_storage_prefix_is_a_configuration_error()
    {
        var result = await cli.RunAsync(new Dictionary<string, string?>(), "backup-list");
        AssertCleanFailure(result, 2, "No storage is configured: set exactly one of WALG_FILE_PREFIX");
    }

    [Fact]
    public async Task Two_storage_prefixes_are_a_configuration_error()
    {
        var result = await cli.RunAsync(new Dictionary<string, string?> { ["WALG_FILE_PREFIX"] = "/tmp/a", ["WALE_FILE_PREFIX"] = "/tmp/b" }, "backup-list");
        Assert.Equal(0, result.ExitCode); // aliases of one backend: WAL-G's name wins
    }

    [Fact]
    public async Task Prefix_that_cannot_be_written_fails_wal_push_clearly()
    {
        var locked = _workspace.PathFor("locked");
        Directory.CreateDirectory(locked);
        File.SetUnixFileMode(locked, UnixFileMode.UserRead | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        var segment = _workspace.PathFor("000000010000000000000001");
        await File.WriteAllBytesAsync(segment, new byte[8192], TestContext.Current.CancellationToken);

        var result = await cli.RunAsync(new Dictionary<string, string?> { ["WALG_FILE_PREFIX"] = Path.Combine(locked, "archive") }, "wal-push", segment);

        AssertCleanFailure(result, 1, "Permission denied");
    }

    [Fact]
    public async Task Prefix_that_is_a_file_fails_clearly()
    {
        var file = _workspace.PathFor("a-file");
        await File.WriteAllTextAsync(file, "x", TestContext.Current.CancellationToken);
        var result = await cli.RunAsync(new Dictionary<string, string?> { ["WALG_FILE_PREFIX"] = file }, "backup-list");
        AssertCleanFailure(result, 1, "is a file, not a directory");
    }

    [Fact]
    public async Task Unreachable_postgres_fails_backup_push_clearly()
    {
        var settings = PitrScenario.Merge(_workspace.FileArchiveSettings, new Dictionary<string, string?>
        {
            ["PGHOST"] = "127.0.0.1", ["PGPORT"] = "1", ["PGUSER"] = "postgres", ["PGPASSWORD"] = "s3cret-never-printed",
        });
        var pgdata = await FakeDataDirectoryAsync();

        var result = await cli.RunAsync(settings, "backup-push", pgdata);

        AssertCleanFailure(result, 1, "Cannot connect to PostgreSQL at 127.0.0.1:1");
        Assert.DoesNotContain("s3cret-never-printed", result.Stderr + result.Stdout, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(_workspace.ArchiveDirectory, "basebackups_005")));
    }

    [Fact]
    public async Task Wrong_credentials_fail_backup_push_clearly()
    {
        var settings = _workspace.FileArchiveSettings;
        await using var cluster = await PostgresCluster.StartAsync(_workspace.PathFor("source"), "true", settings);
        var environment = PitrScenario.Merge(settings, cluster.LibpqEnvironment);
        environment["PGUSER"] = "no_such_role";

        var result = await cli.RunAsync(environment, "backup-push", cluster.DataDirectory);

        AssertCleanFailure(result, 1, "Cannot connect to PostgreSQL");
        Assert.Contains("no_such_role", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pgdata_that_is_not_a_data_directory_is_refused()
    {
        var result = await cli.RunAsync(_workspace.FileArchiveSettings, "backup-push", _workspace.Root);
        AssertCleanFailure(result, 1, "is not a PostgreSQL data directory");
    }

    [Fact]
    public async Task Backup_name_that_does_not_exist_is_refused()
    {
        var result = await cli.RunAsync(_workspace.FileArchiveSettings, "backup-fetch", _workspace.PathFor("target"), "base_000000010000000000000099");
        AssertCleanFailure(result, 1, "Backup 'base_000000010000000000000099' does not exist");
        Assert.False(Directory.Exists(_workspace.PathFor("target")));
    }

    [Fact]
    public async Task Latest_with_no_backups_is_refused()
    {
        var result = await cli.RunAsync(_workspace.FileArchiveSettings, "backup-fetch", _workspace.PathFor("target"), "LATEST");
        AssertCleanFailure(result, 1, "There is no backup in the archive yet");
    }

    [Fact]
    public async Task Non_empty_restore_target_is_refused_and_left_alone()
    {
        var target = _workspace.PathFor("target");
        Directory.CreateDirectory(target);
        await File.WriteAllTextAsync(Path.Combine(target, "keep.me"), "precious", TestContext.Current.CancellationToken);
        ProcessRunner.GiveToOsUser(target);

        var result = await cli.RunAsync(_workspace.FileArchiveSettings, "backup-fetch", target, "LATEST");

        AssertCleanFailure(result, 1, "is not empty");
        Assert.Equal(["keep.me"], Directory.GetFileSystemEntries(target).Select(Path.GetFileName));
    }

    [Fact]
    public async Task Wal_push_of_a_missing_file_fails_clearly()
    {
        var result = await cli.RunAsync(_workspace.FileArchiveSettings, "wal-push", _workspace.PathFor("000000010000000000000007"));
        AssertCleanFailure(result, 1, "does not exist");
    }

    [Fact]
    public async Task Wal_push_of_a_file_that_is_not_wal_is_refused()
    {
        var result = await cli.RunAsync(_workspace.FileArchiveSettings, "wal-push", "/etc/passwd");
        AssertCleanFailure(result, 1, "is not a WAL file name");
    }

    [Fact]
    public async Task Wal_fetch_into_a_missing_directory_fails_clearly()
    {
        var result = await cli.RunAsync(_workspace.FileArchiveSettings, "wal-fetch", "000000010000000000000001", _workspace.PathFor("nowhere/RECOVERYXLOG"));
        AssertCleanFailure(result, 1, "does not exist");
    }

    [Fact]
    public async Task Bad_recovery_target_time_is_refused_before_anything_is_written()
    {
        var result = await cli.RunAsync(_workspace.FileArchiveSettings, "backup-fetch", _workspace.PathFor("target"), "LATEST", "--recovery-target-time", "yesterday-ish");
        AssertCleanFailure(result, 2, "--recovery-target-time 'yesterday-ish' is not a timestamp");
        Assert.False(Directory.Exists(_workspace.PathFor("target")));
    }

    [Fact]
    public async Task Unknown_command_and_option_are_usage_errors()
    {
        var unknownCommand = await cli.RunAsync(_workspace.FileArchiveSettings, "backup-explode");
        var unknownOption = await cli.RunAsync(_workspace.FileArchiveSettings, "backup-list", "--no-such-flag");
        Assert.Equal(2, unknownCommand.ExitCode);
        Assert.Equal(2, unknownOption.ExitCode);
        Assert.DoesNotContain("   at ", unknownCommand.Stderr + unknownOption.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Malformed_config_file_is_a_configuration_error()
    {
        var config = _workspace.PathFor("walg.json");
        await File.WriteAllTextAsync(config, "{ \"WALG_FILE_PREFIX\": ", TestContext.Current.CancellationToken);
        ProcessRunner.GiveToOsUser(config);
        var result = await cli.RunAsync(new Dictionary<string, string?>(), "--config", config, "backup-list");
        AssertCleanFailure(result, 2, "is not valid JSON");
    }

    [Theory]
    [InlineData("retain 0", "is not a number of backups of 1 or more")]
    [InlineData("retain abc", "is not a number of backups of 1 or more")]
    [InlineData("retain LAST 2", "'LAST' is not FULL or FIND_FULL")]
    [InlineData("before yesterday", "is neither a backup name")]
    [InlineData("before FULL base_000000010000000000000002", "'FULL' is not FIND_FULL")]
    [InlineData("target latest-one", "is not a backup name")]
    [InlineData("everything ALL", "'ALL' is not FORCE")]
    [InlineData("garbage WAL", "'WAL' is not ARCHIVES or BACKUPS")]
    public async Task Bad_delete_arguments_are_configuration_errors(string arguments, string expected)
    {
        var result = await cli.RunAsync(_workspace.FileArchiveSettings, ["delete", .. arguments.Split(' ')]);
        AssertCleanFailure(result, 2, expected);
    }

    [Fact]
    public async Task Delete_target_of_a_backup_that_does_not_exist_fails()
    {
        var result = await cli.RunAsync(_workspace.FileArchiveSettings, "delete", "target", "base_000000010000000000000099", "--confirm");
        AssertCleanFailure(result, 1, "Backup 'base_000000010000000000000099' does not exist");
    }

    [Fact]
    public async Task Backup_mark_and_backup_verify_of_a_backup_that_does_not_exist_fail()
    {
        var mark = await cli.RunAsync(_workspace.FileArchiveSettings, "backup-mark", "base_000000010000000000000099");
        var verify = await cli.RunAsync(_workspace.FileArchiveSettings, "backup-verify", "LATEST");
        AssertCleanFailure(mark, 1, "Backup 'base_000000010000000000000099' does not exist");
        AssertCleanFailure(verify, 1, "There is no backup in the archive yet");
    }

    [Fact]
    public async Task Wal_verify_needs_known_checks_and_sane_windows()
    {
        var unknown = await cli.RunAsync(_workspace.FileArchiveSettings, "wal-verify", "integrity", "everything");
        var none = await cli.RunAsync(_workspace.FileArchiveSettings, "wal-verify");
        var settings = PitrScenario.Merge(_workspace.FileArchiveSettings, new Dictionary<string, string?> { ["WALG_UPLOAD_CONCURRENCY"] = "0" });
        var window = await cli.RunAsync(settings, "wal-verify", "integrity");
        AssertCleanFailure(unknown, 2, "'everything' is not a check; the checks are integrity and timeline");
        Assert.Equal(2, none.ExitCode);
        Assert.Contains("Required argument 'checks' missing", none.Stderr, StringComparison.Ordinal);
        AssertCleanFailure(window, 2, "WALG_UPLOAD_CONCURRENCY must be 1 or more");
    }

    [Fact]
    public async Task Bad_page_checksum_setting_is_a_configuration_error()
    {
        var settings = PitrScenario.Merge(_workspace.FileArchiveSettings, new Dictionary<string, string?> { ["WALG_VERIFY_PAGE_CHECKSUMS"] = "sometimes" });
        var result = await cli.RunAsync(settings, "backup-list");
        AssertCleanFailure(result, 2, "WALG_VERIFY_PAGE_CHECKSUMS must be true or false");
    }

    private async Task<string> FakeDataDirectoryAsync()
    {
        var pgdata = _workspace.PathFor("pgdata");
        Directory.CreateDirectory(Path.Combine(pgdata, "global"));
        await File.WriteAllTextAsync(Path.Combine(pgdata, "PG_VERSION"), "15\n", TestContext.Current.CancellationToken);
        await File.WriteAllBytesAsync(Path.Combine(pgdata, "global", "pg_control"), new byte[8192], TestContext.Current.CancellationToken);
        ProcessRunner.GiveToOsUser(pgdata);
        return pgdata;
    }
}
