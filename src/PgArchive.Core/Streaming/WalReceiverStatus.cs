using PgArchive.PostgresTypes;

namespace PgArchive.Streaming;

/// <summary>
/// Where a <see cref="WalReceiver"/> stands: what the server has flushed, what the archive holds, and how far behind
/// the archive is.
/// </summary>
/// <param name="IsStreaming">True while a replication connection streams.</param>
/// <param name="Timeline">The timeline being received (0 before the first connection).</param>
/// <param name="ServerFlushLsn">The server's WAL end as last reported by it.</param>
/// <param name="StoredLsn">Everything before this position is durably in the archive (and reported flushed to the server).</param>
/// <param name="LastStoredAt">When the archive last acknowledged WAL; null before it ever did.</param>
/// <param name="LastError">The last failure (connection, store), or null since the last success.</param>
public sealed record WalReceiverStatus(bool IsStreaming, uint Timeline, Lsn ServerFlushLsn, Lsn StoredLsn, DateTimeOffset? LastStoredAt, string? LastError)
{
    /// <summary>
    /// How long the oldest WAL the server had flushed but the archive does not hold yet has been waiting; zero when the
    /// archive holds all the server reported.
    /// </summary>
    public TimeSpan Lag { get; init; }

    /// <summary>Bytes the server has flushed that the archive does not hold yet.</summary>
    public long LagBytes => ServerFlushLsn > StoredLsn ? (long)(ServerFlushLsn.Value - StoredLsn.Value) : 0;
}
