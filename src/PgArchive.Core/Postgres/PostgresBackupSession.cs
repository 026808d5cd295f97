using System.Globalization;
using System.Net.Sockets;
using Npgsql;
using PgArchive.Wal;

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
        var timeline = Server.IsInRecovery
            ? (uint)await ScalarAsync<int>("SELECT min_recovery_end_timeline FROM pg_control_recovery()", null, cancellationToken).ConfigureAwait(false)
            : (uint)await ScalarAsync<int>("SELECT timeline_id FROM pg_control_checkpoint()", null, cancellationToken).ConfigureAwait(false);
        return new BackupStart(lsn, timeline);
    }

    public async Task<BackupStop> StopAsync(CancellationToken cancellationToken)
    {
        var sql = Server.VersionNum >= 150000
            ? "SELECT lsn::text, labelfile, spcmapfile FROM pg_backup_stop(true)"
            : "SELECT lsn::text, labelfile, spcmapfile FROM pg_stop_backup(false, true)";
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
                   (SELECT blocks_per_segment FROM pg_control_init())
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
            reader.GetInt32(7));
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
        return (T)result!;
    }

    private static string Describe(NpgsqlConnection connection)
    {
        var builder = new NpgsqlConnectionStringBuilder(connection.ConnectionString);
        return string.Create(CultureInfo.InvariantCulture, $"{builder.Host ?? "(PGHOST unset)"}:{builder.Port} as user '{builder.Username ?? Environment.UserName}'");
    }
}

/// <summary>What backup-push learns of the server.</summary>
internal sealed record ServerInfo(int VersionNum, string DataDirectory, ulong SystemIdentifier, long WalSegmentSize, bool IsInRecovery, bool DataChecksums,
    int BlockSize, int BlocksPerSegment);

/// <summary>The result of starting a backup.</summary>
internal sealed record BackupStart(Lsn Lsn, uint Timeline);

/// <summary>The result of stopping a backup: stop LSN and the files PostgreSQL asks to be stored with it.</summary>
internal sealed record BackupStop(Lsn Lsn, string LabelFile, string TablespaceMapFile);
