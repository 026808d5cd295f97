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

    /// <summary>
    /// The growing list of bad inputs that need no server: name → (environment, arguments, exit code, expected
    /// text). <c>{ws}</c> stands for the test's workspace; every case runs with WALG_FILE_PREFIX={ws}/archive
    /// unless its environment sets that to "".
    /// </summary>
    private static readonly Dictionary<string, (Dictionary<string, string?> Env, string[] Args, int Exit, string Expected)> Cases = new()
    {
        ["restore-drill: bad backup name"] = ([], ["restore-drill", "base_zzz"], 2, "'base_zzz' is neither LATEST nor a backup name"),
        ["restore-drill: unknown option"] = ([], ["restore-drill", "--bogus"], 2, "'--bogus' is neither LATEST nor a backup name"),
        ["restore-drill: no backup"] = ([], ["restore-drill"], 1, "restore-drill failed: There is no backup in the archive yet"),
        ["restore-drill: backup that does not exist"] = ([], ["restore-drill", "base_000000010000000000000099"], 1, "Backup 'base_000000010000000000000099' does not exist"),
        ["fault injection: rate above 1"] = (new() { ["PGARCHIVE_FAULT_INJECTION"] = "2" }, ["backup-list"], 2, "PGARCHIVE_FAULT_INJECTION '2' must be RATE[:SEED[:OPS]]"),
        ["fault injection: unknown operation"] = (new() { ["PGARCHIVE_FAULT_INJECTION"] = "0.1:1:fly" }, ["backup-list"], 2, "operation 'fly' must be one of"),
        ["fault injection: permanent after not a count"] = (new() { ["PGARCHIVE_FAULT_INJECTION"] = "permanent:put:soon" }, ["backup-list"], 2, "AFTER must be a number of calls"),
        ["backup-push: resume setting not a boolean"] = (new() { ["PGARCHIVE_BACKUP_RESUME"] = "maybe" }, ["backup-push", "{ws}"], 2, "PGARCHIVE_BACKUP_RESUME must be true or false, not 'maybe'"),
        ["delta block source unknown"] = (new() { ["PGARCHIVE_DELTA_BLOCK_SOURCE"] = "wal" }, ["backup-list"], 2, "PGARCHIVE_DELTA_BLOCK_SOURCE must be auto or scan, not 'wal'."),
        ["store retries negative"] = (new() { ["PGARCHIVE_STORE_RETRIES"] = "-1" }, ["backup-list"], 2, "PGARCHIVE_STORE_RETRIES must be 0 or more"),
        ["store retry delay not a number"] = (new() { ["PGARCHIVE_STORE_RETRY_DELAY"] = "abc" }, ["backup-list"], 2, "PGARCHIVE_STORE_RETRY_DELAY 'abc' must be a number of seconds"),
        ["backup-fetch: bad LSN"] = ([], ["backup-fetch", "{ws}/t", "LATEST", "--recovery-target-lsn", "zz"], 2, "--recovery-target-lsn 'zz' is not an LSN"),
        ["backup-fetch: bad target action"] = ([], ["backup-fetch", "{ws}/t", "LATEST", "--recovery-target-action", "explode"], 2, "--recovery-target-action 'explode' must be pause, promote or shutdown"),
        ["backup-fetch: bad tablespace map"] = ([], ["backup-fetch", "{ws}/t", "LATEST", "--tablespace-map", "abc"], 2, "--tablespace-map 'abc' must be OID=DIRECTORY"),
        ["backup-fetch: standby with a recovery target"] = ([], ["backup-fetch", "{ws}/t", "LATEST", "--standby", "--recovery-target-time", "2026-11-25 02:00:00+00"], 2,
            "--standby cannot be combined with --recovery-target-time: a standby replays the archive without end until it is promoted."),
        ["backup-fetch: standby with a restore point"] = ([], ["backup-fetch", "{ws}/t", "LATEST", "--recovery-target-name", "p", "--standby"], 2,
            "--standby cannot be combined with --recovery-target-name"),
        ["backup-fetch: primary conninfo without standby"] = ([], ["backup-fetch", "{ws}/t", "LATEST", "--primary-conninfo", "host=p"], 2,
            "--primary-conninfo needs --standby: only a standby streams from a primary."),
        ["wal-fetch: bad WAL name"] = ([], ["wal-fetch", "not-a-wal", "{ws}/x"], 1, "'not-a-wal' is not a WAL file name"),
        ["backup-push: malformed user data JSON"] = ([], ["backup-push", "--add-user-data", "{bad", "{ws}"], 2, "--add-user-data (WALG_SENTINEL_USER_DATA) is not valid JSON"),
        ["disk rate limit of zero"] = (new() { ["WALG_DISK_RATE_LIMIT"] = "0" }, ["backup-list"], 2, "WALG_DISK_RATE_LIMIT must be a rate in bytes per second, 1 or more, not 0; leave it unset for no limit."),
        ["negative network rate limit"] = (new() { ["WALG_NETWORK_RATE_LIMIT"] = "-100" }, ["backup-list"], 2, "WALG_NETWORK_RATE_LIMIT must be a rate in bytes per second, 1 or more, not -100"),
        ["rate limit that is not a number"] = (new() { ["WALG_DISK_RATE_LIMIT"] = "10MB" }, ["backup-list"], 2, "WALG_DISK_RATE_LIMIT must be an integer, not '10MB'."),
        ["tar size threshold too small"] = (new() { ["WALG_TAR_SIZE_THRESHOLD"] = "5" }, ["backup-list"], 2, "WALG_TAR_SIZE_THRESHOLD) must be at least 1 MiB"),
        ["unknown log level"] = (new() { ["WALG_LOG_LEVEL"] = "LOUD" }, ["backup-list"], 2, "WALG_LOG_LEVEL 'LOUD' must be NORMAL, DEVEL or ERROR"),
        ["unknown .NET log level"] = (new() { ["PGARCHIVE_LOG_LEVEL"] = "chatty" }, ["backup-list"], 2, "PGARCHIVE_LOG_LEVEL 'chatty' must be one of"),
        ["zstd level without zstd"] = (new() { ["WALG_ZSTD_LEVEL"] = "3" }, ["backup-list"], 2, "WALG_ZSTD_LEVEL is set but WALG_COMPRESSION_METHOD is 'lz4'"),
        ["libsodium key too short"] = (new() { ["WALG_LIBSODIUM_KEY"] = "short" }, ["backup-list"], 2, "The libsodium key in WALG_LIBSODIUM_KEY is 5 bytes long"),
        ["PGP key file missing"] = (new() { ["WALG_PGP_KEY_PATH"] = "{ws}/nokey", ["WALG_PGP_KEY_PASSPHRASE"] = "pp-never-printed" }, ["backup-list"], 2, "Cannot read the OpenPGP key file"),
        ["PGP key file missing: names the reason"] = (new() { ["WALG_PGP_KEY_PATH"] = "{ws}/nokey" }, ["backup-list"], 2, "(WALG_PGP_KEY_PATH): it does not exist."),
        ["libsodium key file missing"] = (new() { ["WALG_LIBSODIUM_KEY_PATH"] = "{ws}/nokey" }, ["backup-list"], 2, "(WALG_LIBSODIUM_KEY_PATH): it does not exist."),
        ["S3 prefix that is not a URL"] = (new() { ["WALG_FILE_PREFIX"] = "", ["WALG_S3_PREFIX"] = "notaurl" }, ["backup-list"], 2, "WALG_S3_PREFIX must look like s3://"),
        ["config file missing"] = ([], ["--config", "{ws}/none.json", "backup-list"], 2, "Cannot read config file"),
        ["envdir missing"] = ([], ["--envdir", "{ws}/none", "backup-list"], 2, "is not a directory"),
        ["extra argument"] = ([], ["backup-list", "--json", "extra"], 2, "Unrecognized command or argument 'extra'"),
        ["missing argument"] = ([], ["backup-mark"], 2, "Required argument 'backup_name' missing"),
        ["wal-verify: unknown check"] = ([], ["wal-verify", "timeline", "--bogus"], 2, "'--bogus' is not a check"),
        ["daemon-client: a Go duration is a duration"] = ([], ["daemon-client", "{ws}/no.sock", "wal-push", "x", "--timeout", "1h30m", "--connection-timeout", "1m"], 1,
            "Daemon socket '{ws}/no.sock' does not exist"),
        ["daemon-client: not a duration"] = ([], ["daemon-client", "{ws}/no.sock", "wal-push", "x", "--timeout", "soon"], 2,
            "--timeout 'soon' is not a duration: write 30s, 500ms, 2m, 1h30m or a number of seconds."),
        ["daemon: upload timeout not a duration"] = (new() { ["WALG_DAEMON_WAL_UPLOAD_TIMEOUT"] = "1x" }, ["daemon", "{ws}/d.sock"], 2,
            "WALG_DAEMON_WAL_UPLOAD_TIMEOUT '1x' is not a duration"),
        ["wal-receive: flush bytes not a size"] = ([], ["wal-receive", "--flush-bytes", "4 lots"], 2, "--flush-bytes '4 lots' is not a size: write 1048576 (bytes), 512kB, 4MiB or 1GB."),
    };

    public static TheoryData<string> CaseNames => [.. Cases.Keys];

    [Theory]
    [MemberData(nameof(CaseNames))]
    public async Task Bad_input_fails_with_one_clear_line(string name)
    {
        var (env, args, exit, expected) = Cases[name];
        string Fill(string s) => s.Replace("{ws}", _workspace.Root, StringComparison.Ordinal);
        var settings = _workspace.FileArchiveSettings;
        foreach (var (key, value) in env)
        {
            settings[key] = value is "" ? null : value is null ? null : Fill(value);
        }

        var result = await cli.RunAsync(settings, [.. args.Select(Fill)]);

        AssertCleanFailure(result, exit, Fill(expected));
        Assert.DoesNotContain("pp-never-printed", result.Stderr + result.Stdout, StringComparison.Ordinal);
        Assert.False(Directory.Exists(_workspace.PathFor("t")), "nothing may be half-written");
        Assert.False(Directory.Exists(Path.Combine(_workspace.ArchiveDirectory, "basebackups_005")), "nothing may be half-written");
    }

    [Fact]
    public async Task Recovery_of_a_PostgreSQL_9_6_backup_is_refused_before_anything_is_written()
    {
        var backups = Directory.CreateDirectory(Path.Combine(_workspace.ArchiveDirectory, "basebackups_005")).FullName;
        await File.WriteAllTextAsync(Path.Combine(backups, "base_000000010000000000000002_backup_stop_sentinel.json"),
            """{"LSN": 33554472, "FinishLSN": 33554720, "PgVersion": 90624, "StartTime": "2026-11-20T10:00:00Z", "FinishTime": "2026-11-20T10:00:05Z"}""",
            TestContext.Current.CancellationToken);
        ProcessRunner.GiveToOsUser(_workspace.ArchiveDirectory);

        var result = await cli.RunAsync(_workspace.FileArchiveSettings, "backup-fetch", _workspace.PathFor("t"), "LATEST", "--recovery");

        AssertCleanFailure(result, 1, "Backup base_000000010000000000000002 is PostgreSQL 9.6, which pgarchive does not support: it supports PostgreSQL 10 to 18");
        Assert.False(Directory.Exists(_workspace.PathFor("t")), "nothing may be written");
    }

    [Fact]
    public async Task Full_disk_fails_wal_push_and_wal_fetch_cleanly_leaving_no_partial_file()
    {
        Assert.SkipUnless(ProcessRunner.IsRoot, "mounting a tmpfs needs root");
        var small = _workspace.PathFor("small");
        Directory.CreateDirectory(small);
        var mount = await ProcessRunner.RunAsync("mount", ["-t", "tmpfs", "-o", "size=1m,mode=0777", "tmpfs", small], asOsUser: false);
        mount.EnsureSuccess("mount tmpfs");
        try
        {
            var segment = _workspace.PathFor("000000010000000000000001");
            await File.WriteAllBytesAsync(segment, PgArchive.Support.WalSegments.Create("000000010000000000000001", System.Security.Cryptography.RandomNumberGenerator.GetBytes, size: 4 << 20), TestContext.Current.CancellationToken);
            ProcessRunner.GiveToOsUser(segment);

            var push = await cli.RunAsync(new Dictionary<string, string?> { ["WALG_FILE_PREFIX"] = Path.Combine(small, "archive") }, "wal-push", segment);
            AssertCleanFailure(push, 1, "No space left on the device");
            Assert.Empty(Directory.EnumerateFiles(small, "*", SearchOption.AllDirectories));

            (await cli.RunAsync(_workspace.FileArchiveSettings, "wal-push", segment)).EnsureSuccess("wal-push");
            var fetch = await cli.RunAsync(_workspace.FileArchiveSettings, "wal-fetch", "000000010000000000000001", Path.Combine(small, "RECOVERYXLOG"));
            AssertCleanFailure(fetch, 1, "No space left on device");
            Assert.Empty(Directory.EnumerateFiles(small, "*", SearchOption.AllDirectories));
        }
        finally
        {
            await ProcessRunner.RunAsync("umount", [small], asOsUser: false);
        }
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
