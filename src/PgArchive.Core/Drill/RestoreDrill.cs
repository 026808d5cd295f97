using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using PgArchive.Backups;
using PgArchive.Diagnostics;

namespace PgArchive.Drill;

/// <summary>
/// Proves a backup restores: fetches it into a temporary directory, starts PostgreSQL over it with recovery to
/// the end of the archive (archiving off), waits until recovery ends, runs amcheck's <c>bt_index_check</c> on every
/// btree index and <c>count(*)</c> on every table of every database, reports time-to-restore and the last replayed
/// commit time, and removes everything it made. Any failure is in the result (and the server it started is stopped).
/// </summary>
public sealed class RestoreDrill
{
    private readonly BackupFetcher _fetcher;
    private readonly ILogger _logger;

    /// <summary>Creates the service.</summary>
    public RestoreDrill(BackupFetcher fetcher, ILogger<RestoreDrill>? logger = null)
    {
        _fetcher = fetcher ?? throw new ArgumentNullException(nameof(fetcher));
        _logger = logger ?? NullLogger<RestoreDrill>.Instance;
    }

    /// <summary>Runs the drill. Throws only for bad arguments and cancellation; every other failure is in the result.</summary>
    public async Task<RestoreDrillResult> RunAsync(RestoreDrillRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentException.ThrowIfNullOrEmpty(request.RestoreCommand);
        var failures = new List<string>();
        var databases = new List<DatabaseCheck>();
        var name = "";
        TimeSpan fetchTime = default, recoveryTime = default;
        DateTimeOffset? lastReplayed = null;
        string? lastLsn = null;
        var osUser = DrillServer.IsRoot ? request.OsUser : null;
        var root = request.WorkDirectory is null
            ? Directory.CreateTempSubdirectory("pgarchive-drill-").FullName
            : Directory.CreateTempSubdirectory(Path.Combine(Path.GetFullPath(request.WorkDirectory), "pgarchive-drill-")).FullName;
        try
        {
            var postgres = Path.Combine(request.PgBinDirectory ?? await PgBinDirectoryAsync(cancellationToken).ConfigureAwait(false), "postgres");
            if (!File.Exists(postgres))
            {
                throw new PgArchiveException($"PostgreSQL's server program '{postgres}' does not exist: set the bin directory (PGBIN or --pg-bin).");
            }

            var data = Path.Combine(root, "data");
            var watch = Stopwatch.StartNew();
            var fetched = await _fetcher.FetchAsync(new BackupFetchRequest
            {
                TargetDirectory = data,
                BackupName = request.BackupName,
                Recovery = new RecoveryOptions { RestoreCommand = request.RestoreCommand, TargetAction = "promote" },
                Progress = request.Progress,
            }, cancellationToken).ConfigureAwait(false);
            name = fetched.BackupName;
            fetchTime = watch.Elapsed;
            Log.DrillFetched(_logger, name, root, fetchTime.TotalSeconds);

            if (!File.Exists(Path.Combine(data, "postgresql.conf")))
            {
                await File.WriteAllTextAsync(Path.Combine(data, "postgresql.conf"), "", cancellationToken).ConfigureAwait(false); // configured outside PGDATA (Debian)
            }

            await File.WriteAllTextAsync(Path.Combine(root, "pg_hba.conf"),
                "# restore drill: its private socket only\nlocal all all trust\nhost all all 127.0.0.1/32 reject\n", cancellationToken).ConfigureAwait(false);
            if (osUser is not null)
            {
                await ChownAsync(root, osUser, cancellationToken).ConfigureAwait(false);
            }

            watch.Restart();
            var server = DrillServer.Start(postgres, data, root, osUser, request.Environment);
            await using (server.ConfigureAwait(false))
            {
                Log.DrillServerStarted(_logger, server.Pid, server.Port);
                var connection = new NpgsqlConnectionStringBuilder
                {
                    Host = root, Port = server.Port, Username = request.DatabaseUser, Database = "postgres", Pooling = false, Timeout = 5,
                    CommandTimeout = 0,
                };
                (lastReplayed, lastLsn) = await WaitForRecoveryAsync(server, connection, request.RecoveryTimeout, cancellationToken).ConfigureAwait(false);
                recoveryTime = watch.Elapsed;
                Log.DrillRecovered(_logger, name, recoveryTime.TotalSeconds, lastReplayed?.ToString("O", System.Globalization.CultureInfo.InvariantCulture) ?? "none");
                await CheckDatabasesAsync(connection, databases, failures, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex) when (ex is PgArchiveException or NpgsqlException or IOException or UnauthorizedAccessException or TimeoutException
                                       or System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            failures.Add(ex.Message);
        }
        finally
        {
            try
            {
                Directory.Delete(root, recursive: true);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                failures.Add($"Could not remove the drill's directory '{root}': {ex.Message}");
            }
        }

        return new RestoreDrillResult(name, fetchTime, recoveryTime, fetchTime + recoveryTime, lastReplayed, lastLsn, databases, failures);
    }

    private static async Task<(DateTimeOffset?, string?)> WaitForRecoveryAsync(DrillServer server, NpgsqlConnectionStringBuilder connection,
        TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (server.HasExited)
            {
                throw new PgArchiveException("PostgreSQL stopped during recovery: " + LastError(server.LogTail()));
            }

            try
            {
                var db = new NpgsqlConnection(connection.ConnectionString);
                await using (db.ConfigureAwait(false))
                {
                    await db.OpenAsync(cancellationToken).ConfigureAwait(false);
                    var cmd = new NpgsqlCommand("SELECT pg_is_in_recovery(), pg_last_xact_replay_timestamp(), pg_last_wal_replay_lsn()::text", db);
                    await using (cmd.ConfigureAwait(false))
                    {
                        var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                        await using (reader.ConfigureAwait(false))
                        {
                            await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                            if (!reader.GetBoolean(0))
                            {
                                DateTimeOffset? at = reader.IsDBNull(1) ? null : new DateTimeOffset(reader.GetDateTime(1).ToUniversalTime(), TimeSpan.Zero);
                                return (at, reader.IsDBNull(2) ? null : reader.GetString(2));
                            }
                        }
                    }
                }
            }
            catch (NpgsqlException) when (deadline.Elapsed < timeout)
            {
                // Not accepting connections yet.
            }
            catch (PostgresException ex) when (ex.SqlState == "57P03" && deadline.Elapsed < timeout)
            {
                // The database system is starting up.
            }

            if (deadline.Elapsed > timeout)
            {
                throw new TimeoutException($"Recovery did not end within {timeout}: " + LastError(server.LogTail()));
            }

            await Task.Delay(250, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task CheckDatabasesAsync(NpgsqlConnectionStringBuilder connection, List<DatabaseCheck> databases, List<string> failures,
        CancellationToken cancellationToken)
    {
        var names = new List<string>();
        var admin = new NpgsqlConnection(connection.ConnectionString);
        await using (admin.ConfigureAwait(false))
        {
            await admin.OpenAsync(cancellationToken).ConfigureAwait(false);
            var cmd = new NpgsqlCommand("SELECT datname FROM pg_database WHERE datallowconn ORDER BY datname", admin);
            await using (cmd.ConfigureAwait(false))
            {
                var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                await using (reader.ConfigureAwait(false))
                {
                    while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                    {
                        names.Add(reader.GetString(0));
                    }
                }
            }
        }

        foreach (var database in names)
        {
            var builder = new NpgsqlConnectionStringBuilder(connection.ConnectionString) { Database = database };
            var db = new NpgsqlConnection(builder.ConnectionString);
            await using (db.ConfigureAwait(false))
            {
                await db.OpenAsync(cancellationToken).ConfigureAwait(false);
                await ExecuteAsync(db, "CREATE EXTENSION IF NOT EXISTS amcheck", cancellationToken).ConfigureAwait(false);
                var indexes = await StringsAsync(db,
                    """
                    SELECT c.oid::regclass::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam
                    WHERE am.amname = 'btree' AND c.relpersistence <> 't' AND i.indisvalid AND i.indisready ORDER BY 1
                    """, cancellationToken).ConfigureAwait(false);
                var checkedIndexes = 0;
                foreach (var index in indexes)
                {
                    try
                    {
                        await ExecuteAsync(db, $"SELECT bt_index_check({Literal(index)}::regclass)", cancellationToken).ConfigureAwait(false);
                        checkedIndexes++;
                    }
                    catch (PostgresException ex)
                    {
                        failures.Add($"{database}: amcheck of index {index} failed: {ex.MessageText}");
                    }
                }

                var tables = await StringsAsync(db,
                    "SELECT c.oid::regclass::text FROM pg_class c WHERE c.relkind IN ('r', 'm') AND c.relpersistence <> 't' ORDER BY 1",
                    cancellationToken).ConfigureAwait(false);
                long rows = 0;
                var counted = 0;
                foreach (var table in tables)
                {
                    try
                    {
                        var cmd = new NpgsqlCommand($"SELECT count(*) FROM ONLY {table}", db);
                        await using (cmd.ConfigureAwait(false))
                        {
                            rows += (long)(await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
                            counted++;
                        }
                    }
                    catch (PostgresException ex)
                    {
                        failures.Add($"{database}: SELECT count(*) FROM {table} failed: {ex.MessageText}");
                    }
                }

                databases.Add(new DatabaseCheck(database, counted, rows, checkedIndexes));
                Log.DrillDatabaseChecked(_logger, database, counted, rows, checkedIndexes);
            }
        }
    }

    private static async Task ExecuteAsync(NpgsqlConnection db, string sql, CancellationToken cancellationToken)
    {
        var cmd = new NpgsqlCommand(sql, db);
        await using (cmd.ConfigureAwait(false))
        {
            await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private static async Task<List<string>> StringsAsync(NpgsqlConnection db, string sql, CancellationToken cancellationToken)
    {
        var result = new List<string>();
        var cmd = new NpgsqlCommand(sql, db);
        await using (cmd.ConfigureAwait(false))
        {
            var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using (reader.ConfigureAwait(false))
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    result.Add(reader.GetString(0));
                }
            }
        }

        return result;
    }

    private static string Literal(string text) => "'" + text.Replace("'", "''", StringComparison.Ordinal) + "'";

    private static string LastError(string log)
    {
        var lines = log.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var error = lines.LastOrDefault(l => l.Contains("FATAL:", StringComparison.Ordinal) || l.Contains("PANIC:", StringComparison.Ordinal))
                    ?? lines.LastOrDefault(l => l.Contains("ERROR:", StringComparison.Ordinal))
                    ?? lines.LastOrDefault() ?? "(no log)";
        return error.Trim();
    }

    private static async Task<string> PgBinDirectoryAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo("pg_config", "--bindir") { RedirectStandardOutput = true, UseShellExecute = false })
                ?? throw new PgArchiveException("Cannot run pg_config.");
            var output = await process.StandardOutput.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
            await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
            return process.ExitCode == 0 && output.Trim().Length > 0
                ? output.Trim()
                : throw new PgArchiveException("pg_config --bindir failed: set PGBIN to PostgreSQL's bin directory.");
        }
        catch (System.ComponentModel.Win32Exception)
        {
            throw new PgArchiveException("pg_config is not on PATH: set PGBIN to PostgreSQL's bin directory.");
        }
    }

    private static async Task ChownAsync(string path, string user, CancellationToken cancellationToken)
    {
        using var process = Process.Start(new ProcessStartInfo("chown") { ArgumentList = { "-R", user + ":", path }, UseShellExecute = false, RedirectStandardError = true })
            ?? throw new PgArchiveException("Cannot run chown.");
        var error = await process.StandardError.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
        await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        if (process.ExitCode != 0)
        {
            throw new PgArchiveException($"Cannot give '{path}' to OS user {user}: {error.Trim()}");
        }
    }
}
