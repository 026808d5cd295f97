using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using Npgsql;
using PgArchive.PostgresTypes;

namespace PgArchive.Postgres;

/// <summary>
/// One PostgreSQL session that runs a non-exclusive base backup: <c>pg_backup_start</c> /
/// <c>pg_backup_stop</c> on PostgreSQL 15+, <c>pg_start_backup</c> / <c>pg_stop_backup</c> before.
/// If the session ends without a stop (crash, cancel), PostgreSQL aborts the backup itself.
/// </summary>
internal sealed class PostgresBackupSession : IAsyncDisposable
{
    private readonly NpgsqlConnection _connection;

    private PostgresBackupSession(NpgsqlConnection connection, ServerInfo server)
    {
        _connection = connection;
        Server = server;
    }

    public ServerInfo Server { get; }

    /// <summary>The session's connection, for what the backup asks the server besides start and stop (WAL summaries).</summary>
    public NpgsqlConnection Connection => _connection;

    public static async Task<PostgresBackupSession> OpenAsync(string connectionString, CancellationToken cancellationToken)
    {
        var builder = LibpqEnvironment.Complete(connectionString);
        builder.ApplicationName = "pgarchive backup-push";
        builder.Pooling = false;
        builder.CommandTimeout = 0;
        var connection = new NpgsqlConnection(builder.ConnectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            var version = connection.PostgreSqlVersion;
            PostgresVersion.EnsureSupported((version.Major * 10000) + (version.Major < 10 ? Math.Max(version.Minor, 0) * 100 : 0), $"The server at {Describe(connection)}");
            var server = await ReadServerInfoAsync(connection, cancellationToken).ConfigureAwait(false);
            return new PostgresBackupSession(connection, server);
        }
        catch (Exception ex) when (ex is NpgsqlException or SocketException or TimeoutException)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw new PgArchiveException(
                $"Cannot connect to PostgreSQL at {Describe(connection)}: {ex.Message.Split('\n')[0]} " +
                "(the connection comes from PGHOST, PGPORT, PGUSER, PGPASSWORD and PGDATABASE).", ex);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public async Task<BackupStart> StartAsync(string label, CancellationToken cancellationToken)
    {
        var sql = Server.VersionNum >= 150000
            ? "SELECT pg_backup_start($1, true)::text"
            : "SELECT pg_start_backup($1, true, false)::text";
        var lsn = Lsn.Parse(await ScalarAsync<string>(sql, label, cancellationToken).ConfigureAwait(false));
        // The start is the redo point of the checkpoint (on a standby, the restartpoint) the start just made or took:
        // on that checkpoint's timeline, as backup_label's START TIMELINE says.
        var timeline = (uint)await ScalarAsync<int>("SELECT timeline_id FROM pg_control_checkpoint()", null, cancellationToken).ConfigureAwait(false);
        return new BackupStart(lsn, timeline);
    }

    /// <summary>
    /// The timeline of the stop LSN: the start's on a primary; on a standby the one its minimum recovery point is on,
    /// which PostgreSQL took the stop from (the standby may have followed its upstream to a new timeline meanwhile).
    /// </summary>
    public async Task<uint> StopTimelineAsync(BackupStart start, CancellationToken cancellationToken) =>
        Server.IsInRecovery
            ? (uint)await ScalarAsync<int>("SELECT min_recovery_end_timeline FROM pg_control_recovery()", null, cancellationToken).ConfigureAwait(false)
            : start.Timeline;

    /// <summary>
    /// Stops the backup. PostgreSQL's own wait for the archive (<c>wait_for_archive</c>) sleeps a whole second
    /// between looks, so when this role may read <c>pg_wal/archive_status</c> the stop returns at once and
    /// <see cref="WaitForArchiveAsync"/> does the same wait with short polls. Otherwise PostgreSQL waits, except on a
    /// standby, where the caller waits for the stop segment to be in the archive (whoever archives it).
    /// </summary>
    public async Task<BackupStop> StopAsync(CancellationToken cancellationToken)
    {
        var wait = Server.CanReadArchiveStatus || Server.IsInRecovery ? "false" : "true";
        var sql = Server.VersionNum >= 150000
            ? $"SELECT lsn::text, labelfile, spcmapfile FROM pg_backup_stop({wait})"
            : $"SELECT lsn::text, labelfile, spcmapfile FROM pg_stop_backup(false, {wait})";
        var command = new NpgsqlCommand(sql, _connection);
        await using var commandScope = command.ConfigureAwait(false);
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var readerScope = reader.ConfigureAwait(false);
        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            throw new PgArchiveException("pg_backup_stop returned no row.");
        }

        return new BackupStop(Lsn.Parse(reader.GetString(0)), reader.GetString(1), reader.IsDBNull(2) ? "" : reader.GetString(2));
    }

    /// <summary>
    /// Waits, as <c>pg_backup_stop(wait_for_archive => true)</c> does on a primary, until the server has archived every
    /// WAL segment up to the one holding <paramref name="stopLsn"/>: no segment's <c>.ready</c> file at or before it is
    /// left in <c>pg_wal/archive_status</c>. Unlike PostgreSQL's wait, not for the backup history file
    /// (<c>.backup</c>), which no restore needs: the archiver takes it after the stop segment, and waiting for it would
    /// add one more archive_command run to every backup (pgBackRest's archive check does not wait for it either). Returns at once when the
    /// server archives nothing (archive_mode off), on a standby (its caller waits on the archive itself), when
    /// PostgreSQL already waited in <see cref="StopAsync"/>, or for a stop LSN at a segment's very start.
    /// </summary>
    /// <param name="stopLsn">The stop LSN returned by <see cref="StopAsync"/>.</param>
    /// <param name="stillWaiting">Called about once a minute while the archiver has not caught up, with the segment awaited.</param>
    /// <param name="cancellationToken">Ends the wait.</param>
    public async Task WaitForArchiveAsync(Lsn stopLsn, Action<string, TimeSpan>? stillWaiting, CancellationToken cancellationToken)
    {
        var archives = Server.ArchiveMode is "always" or "on" && !Server.IsInRecovery;
        if (!Server.CanReadArchiveStatus || !archives || stopLsn.Value == 0)
        {
            return;
        }

        // The last segment the backup needs is the one holding the byte before the stop LSN (XLByteToPrevSeg).
        var last = WalSegment.Containing(new Lsn(stopLsn.Value - 1), 1, Server.WalSegmentSize).FileName[8..];
        const string sql = """
            SELECT min(name) FROM pg_ls_archive_statusdir()
            WHERE name LIKE '%.ready' AND name NOT LIKE '%.backup.ready' AND name ~ '^[0-9A-F]{24}' AND substr(name, 9, 16) <= $1
            """;
        var started = Stopwatch.StartNew();
        var nextReport = TimeSpan.FromSeconds(60);
        var delay = TimeSpan.FromMilliseconds(5);
        while (true)
        {
            var pending = await ScalarAsync<object>(sql, last, cancellationToken).ConfigureAwait(false);
            if (pending is not string name)
            {
                return;
            }

            if (started.Elapsed >= nextReport)
            {
                stillWaiting?.Invoke(name[..^".ready".Length], started.Elapsed);
                nextReport += TimeSpan.FromSeconds(60);
            }

            await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromMilliseconds(100).Ticks));
        }
    }

    public ValueTask DisposeAsync() => _connection.DisposeAsync();

    private static async Task<ServerInfo> ReadServerInfoAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        const string sql = """
            SELECT current_setting('server_version_num')::int,
                   current_setting('data_directory'),
                   (SELECT system_identifier::text FROM pg_control_system()),
                   (SELECT bytes_per_wal_segment::bigint FROM pg_control_init()),
                   pg_is_in_recovery(),
                   current_setting('data_checksums') = 'on',
                   (SELECT database_block_size FROM pg_control_init()),
                   (SELECT blocks_per_segment FROM pg_control_init()),
                   current_setting('archive_mode'),
                   COALESCE(has_function_privilege(to_regprocedure('pg_catalog.pg_ls_archive_statusdir()'), 'EXECUTE'), false),
                   (SELECT timeline_id FROM pg_control_checkpoint())
            """;
        var command = new NpgsqlCommand(sql, connection);
        await using var commandScope = command.ConfigureAwait(false);
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var readerScope = reader.ConfigureAwait(false);
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        return new ServerInfo(
            reader.GetInt32(0),
            reader.GetString(1),
            ulong.Parse(reader.GetString(2), CultureInfo.InvariantCulture),
            reader.GetInt64(3),
            reader.GetBoolean(4),
            reader.GetBoolean(5),
            reader.GetInt32(6),
            reader.GetInt32(7),
            reader.GetString(8),
            reader.GetBoolean(9),
            (uint)reader.GetInt32(10));
    }

    private async Task<T> ScalarAsync<T>(string sql, string? parameter, CancellationToken cancellationToken)
    {
        var command = new NpgsqlCommand(sql, _connection);
        await using var commandScope = command.ConfigureAwait(false);
        if (parameter is not null)
        {
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = parameter });
        }

        var result = await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        return result is DBNull ? default! : (T)result!;
    }

    private static string Describe(NpgsqlConnection connection)
    {
        var builder = new NpgsqlConnectionStringBuilder(connection.ConnectionString);
        return string.Create(CultureInfo.InvariantCulture, $"{builder.Host ?? "(PGHOST unset)"}:{builder.Port} as user '{builder.Username ?? Environment.UserName}'");
    }
}

/// <summary>What backup-push learns of the server; <paramref name="Timeline"/> is its last checkpoint's (restartpoint's on a standby).</summary>
internal sealed record ServerInfo(int VersionNum, string DataDirectory, ulong SystemIdentifier, long WalSegmentSize, bool IsInRecovery, bool DataChecksums,
    int BlockSize, int BlocksPerSegment, string ArchiveMode, bool CanReadArchiveStatus, uint Timeline);

/// <summary>The result of starting a backup.</summary>
internal sealed record BackupStart(Lsn Lsn, uint Timeline);

/// <summary>The result of stopping a backup: stop LSN and the files PostgreSQL asks to be stored with it.</summary>
internal sealed record BackupStop(Lsn Lsn, string LabelFile, string TablespaceMapFile);
