using PgArchive.PostgresTypes;
using PgArchive.Wal.Records;
using WalFork = PgArchive.Wal.Records.RelationFork;

namespace PgArchive.Backups.Delta;

/// <summary>
/// The changed blocks of a delta below PostgreSQL 17, from the WAL block maps wal-push stores (WALG_USE_WAL_DELTA): the
/// maps of the base's start to the new backup's start, as a <see cref="ChangedBlockMap"/>, or why they are not available.
/// </summary>
internal static class WalBlockMapSource
{
    /// <summary>Reads the maps of [<paramref name="from"/>, <paramref name="to"/>) (see <see cref="WalBlockMapReader.ReadAsync"/>).</summary>
    public static async Task<(ChangedBlockMap? Map, string? NotAvailable)> ReadAsync(WalBlockMapReader reader, uint baseTimeline, uint timeline, Lsn from, Lsn to,
        long segmentSize, string? pgWalDirectory, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var result = await reader.ReadAsync(baseTimeline, timeline, from, to, segmentSize, pgWalDirectory, cancellationToken).ConfigureAwait(false);
        return result.Changes is { } changes ? (ToChangedBlockMap(changes), null) : (null, result.NotAvailable);
    }

    /// <summary>The same changes in the delta seam's type; a limit on relation 0 is a database created or dropped.</summary>
    public static ChangedBlockMap ToChangedBlockMap(WalBlockChanges changes)
    {
        ArgumentNullException.ThrowIfNull(changes);
        var map = new ChangedBlockMap();
        foreach (var (fork, blocks) in changes.Blocks)
        {
            var target = Convert(fork);
            foreach (var block in blocks)
            {
                map.MarkChanged(target, block);
            }
        }

        foreach (var (fork, limit) in changes.Limits)
        {
            if (fork.Relation == 0)
            {
                map.MarkDatabaseReplaced(fork.Tablespace, fork.Database);
            }
            else
            {
                map.SetLimitBlock(Convert(fork), limit);
            }
        }

        return map;
    }

    private static RelationFork Convert(WalFork fork) => new(fork.Tablespace, fork.Database, fork.Relation, fork.Fork);
}
