namespace PgArchive.Drill;

/// <summary>What a restore drill found. <see cref="Succeeded"/> is false when any step or check failed.</summary>
/// <param name="BackupName">The backup restored ("" when it could not be resolved).</param>
/// <param name="FetchTime">Time to restore the files.</param>
/// <param name="RecoveryTime">Time from starting PostgreSQL until recovery ended.</param>
/// <param name="TimeToRestore">RTO: fetch plus recovery.</param>
/// <param name="LastReplayedTimestamp">RPO: the commit time of the last transaction replayed (pg_last_xact_replay_timestamp), null when none was.</param>
/// <param name="LastReplayedLsn">The last WAL location replayed.</param>
/// <param name="Databases">Per database: tables counted, rows, btree indexes checked with amcheck.</param>
/// <param name="Failures">One line per failure; empty on success.</param>
public sealed record RestoreDrillResult(
    string BackupName,
    TimeSpan FetchTime,
    TimeSpan RecoveryTime,
    TimeSpan TimeToRestore,
    DateTimeOffset? LastReplayedTimestamp,
    string? LastReplayedLsn,
    IReadOnlyList<DatabaseCheck> Databases,
    IReadOnlyList<string> Failures)
{
    /// <summary>True when the backup restored, recovered and passed every check.</summary>
    public bool Succeeded => Failures.Count == 0;
}

/// <summary>The checks of one database of the restored cluster.</summary>
/// <param name="Database">Its name.</param>
/// <param name="Tables">Tables and materialized views counted.</param>
/// <param name="Rows">Their rows, summed.</param>
/// <param name="IndexesChecked">Btree indexes that passed bt_index_check.</param>
public sealed record DatabaseCheck(string Database, int Tables, long Rows, int IndexesChecked);
