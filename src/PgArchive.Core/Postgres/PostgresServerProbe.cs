using System.Globalization;
using System.Net.Sockets;
using Npgsql;
using PgArchive.PostgresTypes;

namespace PgArchive.Postgres;

/// <summary>Where a running server writes (or replays) WAL now.</summary>
/// <param name="Timeline">The server's timeline.</param>
/// <param name="Lsn">pg_current_wal_lsn() on a primary, pg_last_wal_replay_lsn() on a standby.</param>
/// <param name="SegmentSize">The cluster's WAL segment size.</param>
/// <param name="IsInRecovery">True on a standby.</param>
public sealed record ServerWalPosition(uint Timeline, Lsn Lsn, long SegmentSize, bool IsInRecovery);

/// <summary>Asks a running server (libpq's environment, as backup-push reaches it) where its WAL is.</summary>
internal static class PostgresServerProbe
{
    /// <summary>The server's WAL position, or null with the reason when it cannot be reached.</summary>
    public static async Task<(ServerWalPosition? Position, string? Error)> TryQueryAsync(string connectionString, CancellationToken cancellationToken)
    {
        var builder = LibpqEnvironment.Complete(connectionString);
        builder.ApplicationName = "pgarchive wal-verify";
        builder.Pooling = false;
        builder.Timeout = 5;
        var connection = new NpgsqlConnection(builder.ConnectionString);
        await using (connection.ConfigureAwait(false))
        {
            try
            {
                await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
                const string sql = """
                    SELECT pg_is_in_recovery(),
                           (SELECT bytes_per_wal_segment::bigint FROM pg_control_init()),
                           CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END::text,
                           CASE WHEN pg_is_in_recovery() THEN (SELECT timeline_id FROM pg_control_checkpoint())
                                ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int END
                    """;
                var command = new NpgsqlCommand(sql, connection);
                await using (command.ConfigureAwait(false))
                {
                    var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                    await using (reader.ConfigureAwait(false))
                    {
                        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                        var lsn = reader.IsDBNull(2) ? default : Lsn.Parse(reader.GetString(2));
                        return (new ServerWalPosition((uint)reader.GetInt32(3), lsn, reader.GetInt64(1), reader.GetBoolean(0)), null);
                    }
                }
            }
            catch (Exception ex) when (ex is NpgsqlException or SocketException or TimeoutException)
            {
                var where = string.Create(CultureInfo.InvariantCulture, $"{builder.Host}:{builder.Port}");
                return (null, $"PostgreSQL at {where} is not reachable: {ex.Message.Split('\n')[0]}");
            }
        }
    }
}
