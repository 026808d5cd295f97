using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using PgArchive.EndToEnd;
using PgArchive.Support;

namespace PgArchive.Compatibility.WalG;

/// <summary>One archive pgarchive wrote: its settings and the oracle's codec for it.</summary>
public sealed record PgArchiveArchive(string Label, string Directory, IReadOnlyDictionary<string, string?> Settings, string ConfigFile, Oracle.OracleCodec Codec);

/// <summary>
/// The class fixture of <see cref="PgArchiveBackupsRestoredByWalGTests"/>: one real PostgreSQL 15 cluster with a
/// tablespace, archived by the real pgarchive CLI into two archives at once (lz4 + libsodium, zstd + OpenPGP), each
/// with a full backup and a delta on it (<c>WALG_DELTA_MAX_STEPS=1</c>), then rows before and after a restore point
/// named <see cref="RestorePoint"/>. The source is stopped and its data directory and tablespace emptied: a restore
/// goes back to the same paths, as a WAL-G user restores (WAL-G recreates tablespace links from the sentinel's Spec).
/// </summary>
public sealed class PgArchiveArchives(PgArchiveCli cli) : IAsyncLifetime
{
    public const string RestorePoint = "pgarchive_compat";

    /// <summary>The rows that tell a restore apart: pgbench's, the tablespace table's and the markers.</summary>
    public const string State =
        "SELECT (SELECT count(*) FROM pgbench_history) || '/' || (SELECT sum(abalance) FROM pgbench_accounts) || '/' || " +
        "(SELECT count(*) || ':' || sum(id) FROM in_tablespace) || '/' || (SELECT string_agg(id::text, ',' ORDER BY id) FROM marker)";

    private readonly ArchiveWorkspace _workspace = new();
    private readonly GpgHome _gpg = new();

    public PgArchiveCli Cli => cli;

    public ArchiveWorkspace Workspace => _workspace;

    /// <summary>The source cluster's directory (PGDATA is its <c>data/</c>), where restores go.</summary>
    public string ClusterDirectory => _workspace.PathFor("source");

    public string DataDirectory => Path.Combine(ClusterDirectory, "data");

    public string TablespaceDirectory => _workspace.PathFor("tablespace");

    public IReadOnlyList<PgArchiveArchive> Archives { get; private set; } = [];

    /// <summary>The state at the restore point, read from the source before it went on.</summary>
    public string ExpectedState { get; private set; } = "";

    /// <summary>The full backup and the delta on it, by archive label.</summary>
    public Dictionary<string, (string Full, string Delta)> Backups { get; } = [];

    public PgArchiveArchive Archive(string label) => Archives.Single(a => a.Label == label);

    public async ValueTask InitializeAsync()
    {
        await DebianPackages.EnsureInstalledAsync("python3", "python3-nacl", "lz4", "zstd", "gnupg");
        await _gpg.InitializeAsync();
        var keyHex = Convert.ToHexString(RandomNumberGenerator.GetBytes(32));
        var pgpKey = _workspace.PathFor("pgp.key");
        await File.WriteAllTextAsync(pgpKey, _gpg.Rsa.ArmoredSecret);
        Archives =
        [
            await CreateArchiveAsync("lz4-libsodium", new()
            {
                ["WALG_COMPRESSION_METHOD"] = "lz4", ["WALG_LIBSODIUM_KEY"] = keyHex, ["WALG_LIBSODIUM_KEY_TRANSFORM"] = "hex",
            }, Oracle.OracleCodec.Libsodium(keyHex)),
            await CreateArchiveAsync("zstd-pgp", new()
            {
                ["WALG_COMPRESSION_METHOD"] = "zstd", ["WALG_PGP_KEY_PATH"] = pgpKey, ["WALG_PGP_KEY_PASSPHRASE"] = GpgHome.Passphrase,
            }, Oracle.OracleCodec.Pgp(_gpg, GpgHome.Passphrase)),
        ];
        System.IO.Directory.CreateDirectory(TablespaceDirectory);
        ProcessRunner.GiveToOsUser(_workspace.Root);

        var archiveCommand = string.Join(" && ", Archives.Select(a => $"\"{cli.Executable}\" --config \"{a.ConfigFile}\" wal-push \"%p\""));
        await using var source = await PostgresCluster.StartAsync(ClusterDirectory, archiveCommand, new Dictionary<string, string?>());
        await source.ExecuteAsync($"CREATE TABLESPACE compat LOCATION '{TablespaceDirectory}'");
        await source.ExecuteAsync("CREATE TABLE in_tablespace (id int PRIMARY KEY, filler text) TABLESPACE compat");
        await source.ExecuteAsync("INSERT INTO in_tablespace SELECT g, repeat('x', 200) FROM generate_series(1, 20000) g");
        await source.ExecuteAsync("CREATE TABLE marker (id int PRIMARY KEY)");
        await source.PgbenchAsync("-i", "-s", "1", "-q");
        foreach (var archive in Archives)
        {
            var full = (await cli.RunAsync(PitrScenario.Merge(archive.Settings, source.LibpqEnvironment), "backup-push", source.DataDirectory))
                .EnsureSuccess("backup-push (full) to " + archive.Label).Stdout.Trim();
            Backups[archive.Label] = (full, "");
        }

        await source.PgbenchAsync("-t", "300", "-n");
        await source.ExecuteAsync("UPDATE in_tablespace SET filler = repeat('y', 200) WHERE id % 50 = 0");
        await source.ExecuteAsync("INSERT INTO in_tablespace SELECT g, 'new' FROM generate_series(20001, 20500) g");
        foreach (var archive in Archives)
        {
            var delta = (await cli.RunAsync(PitrScenario.Merge(archive.Settings, source.LibpqEnvironment), "backup-push", source.DataDirectory))
                .EnsureSuccess("backup-push (delta) to " + archive.Label).Stdout.Trim();
            Backups[archive.Label] = (Backups[archive.Label].Full, delta);
        }

        await source.ExecuteAsync("INSERT INTO marker VALUES (1), (2), (3)");
        await source.ExecuteAsync("DELETE FROM in_tablespace WHERE id > 20400");
        ExpectedState = await source.ScalarAsync<string>(State);
        await source.ExecuteAsync($"SELECT pg_create_restore_point('{RestorePoint}')");
        await source.ExecuteAsync("INSERT INTO marker VALUES (4), (5), (6)"); // after the restore point: must not be restored
        await source.ExecuteAsync("UPDATE in_tablespace SET filler = 'late'");
        await source.SwitchWalAndWaitForArchiveAsync();
        await source.StopAsync();
        EmptyRestorePaths();
    }

    /// <summary>Removes the data directory and the tablespace's contents: the paths a restore writes to.</summary>
    public void EmptyRestorePaths()
    {
        if (System.IO.Directory.Exists(DataDirectory))
        {
            System.IO.Directory.Delete(DataDirectory, recursive: true);
        }

        foreach (var entry in new DirectoryInfo(TablespaceDirectory).EnumerateFileSystemInfos())
        {
            if (entry is DirectoryInfo directory)
            {
                directory.Delete(recursive: true);
            }
            else
            {
                entry.Delete();
            }
        }
    }

    private async Task<PgArchiveArchive> CreateArchiveAsync(string label, Dictionary<string, string?> codec, Oracle.OracleCodec oracle)
    {
        var directory = _workspace.PathFor("archive-" + label);
        var settings = new Dictionary<string, string?>(codec) { ["WALG_FILE_PREFIX"] = directory, ["WALG_DELTA_MAX_STEPS"] = "1" };
        var configFile = _workspace.PathFor(label + ".json");
        await File.WriteAllTextAsync(configFile, JsonSerializer.Serialize(settings));
        File.SetUnixFileMode(configFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return new PgArchiveArchive(label, directory, settings, configFile, oracle);
    }

    public async ValueTask DisposeAsync()
    {
        await _gpg.DisposeAsync();
        await _workspace.DisposeAsync();
    }

    /// <summary>The recovery settings a WAL-G user writes after backup-fetch: pgarchive's wal-fetch, the restore point.</summary>
    public async Task ConfigureRecoveryAsync(PgArchiveArchive archive)
    {
        var settings = string.Create(CultureInfo.InvariantCulture,
            $"\nrestore_command = '\"{cli.Executable}\" --config \"{archive.ConfigFile}\" wal-fetch \"%f\" \"%p\"'\nrecovery_target_name = '{RestorePoint}'\nrecovery_target_action = 'promote'\n");
        await File.AppendAllTextAsync(Path.Combine(DataDirectory, "postgresql.auto.conf"), settings);
        await File.WriteAllTextAsync(Path.Combine(DataDirectory, "recovery.signal"), "");
    }
}
