using System.Data;
using System.Globalization;
using Npgsql;
using PgArchive.PostgresTypes;

namespace PgArchive.Backups.Delta;

/// <summary>
/// Builds a delta's <see cref="ChangedBlockMap"/> from PostgreSQL 17's WAL summaries (<c>summarize_wal</c>): waits for
/// the summarizer to reach the new backup's start, checks that the summaries of the timeline cover the WAL from the
/// base's start to it without a gap, then reads each one's contents (<c>pg_wal_summary_contents</c>) row by row into
/// the map. When the server cannot tell, the answer is the reason, and the delta scans pages instead.
/// </summary>
internal static class WalSummaryBlockSource
{
    /// <summary>How long the summarizer may take to reach the backup's start before the delta scans instead.</summary>
    public static readonly TimeSpan DefaultWait = TimeSpan.FromSeconds(60);

    /// <summary>
    /// The blocks changed on <paramref name="timeline"/> from <paramref name="baseLsn"/> (the base's start, on
    /// <paramref name="baseTimeline"/>) to <paramref name="startLsn"/> (this backup's start), or why the summaries cannot say.
    /// </summary>
    public static async Task<(ChangedBlockMap? Map, string? Unavailable)> BuildAsync(NpgsqlConnection connection, int versionNum, Lsn baseLsn, uint baseTimeline,
        Lsn startLsn, uint timeline, TimeSpan wait, TimeProvider time, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(time);
        try
        {
            return await BuildCoreAsync(connection, versionNum, baseLsn, baseTimeline, startLsn, timeline, wait, time, cancellationToken).ConfigureAwait(false);
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.InsufficientPrivilege)
        {
            // The summary functions are the superuser's unless granted; outside a transaction the error leaves the backup running.
            return (null, $"the backup role may not read WAL summaries ({ex.MessageText}; GRANT EXECUTE ON FUNCTION pg_get_wal_summarizer_state(), " +
                "pg_available_wal_summaries(), pg_wal_summary_contents(bigint, pg_lsn, pg_lsn) to it)");
        }
    }

    private static async Task<(ChangedBlockMap? Map, string? Unavailable)> BuildCoreAsync(NpgsqlConnection connection, int versionNum, Lsn baseLsn, uint baseTimeline,
        Lsn startLsn, uint timeline, TimeSpan wait, TimeProvider time, CancellationToken cancellationToken)
    {
        if (versionNum < 170000)
        {
            return (null, string.Create(CultureInfo.InvariantCulture, $"PostgreSQL {versionNum / 10000} keeps no WAL summaries (17 and later do)"));
        }

        if (!string.Equals(await ScalarAsync(connection, "SELECT current_setting('summarize_wal')", cancellationToken).ConfigureAwait(false), "on",
                StringComparison.OrdinalIgnoreCase))
        {
            return (null, "summarize_wal is off");
        }

        if (baseTimeline != timeline)
        {
            return (null, string.Create(CultureInfo.InvariantCulture,
                $"the base started on timeline {baseTimeline} and this backup on {timeline}: summaries are read on one timeline"));
        }

        if (await WaitForSummarizerAsync(connection, startLsn, timeline, wait, time, cancellationToken).ConfigureAwait(false) is { } late)
        {
            return (null, late);
        }

        var summaries = await CoveringSummariesAsync(connection, baseLsn, startLsn, timeline, cancellationToken).ConfigureAwait(false);
        if (summaries.Gap is { } gap)
        {
            return (null, gap);
        }

        var map = new ChangedBlockMap();
        foreach (var (start, end) in summaries.Ranges)
        {
            await ReadContentsAsync(connection, timeline, start, end, map, cancellationToken).ConfigureAwait(false);
        }

        return (map, null);
    }

    /// <summary>Null once the summarizer has written summaries up to <paramref name="lsn"/>; the reason when it has not within <paramref name="wait"/>.</summary>
    private static async Task<string?> WaitForSummarizerAsync(NpgsqlConnection connection, Lsn lsn, uint timeline, TimeSpan wait, TimeProvider time,
        CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        var delay = TimeSpan.FromMilliseconds(20);
        while (true)
        {
            var state = await ScalarAsync(connection, "SELECT summarized_tli::text || ' ' || summarized_lsn::text FROM pg_get_wal_summarizer_state()", cancellationToken)
                .ConfigureAwait(false);
            var fields = state?.Split(' ') ?? [];
            if (fields.Length == 2 && uint.TryParse(fields[0], NumberStyles.None, CultureInfo.InvariantCulture, out var summarizedTimeline) &&
                Lsn.TryParse(fields[1], out var summarized) && (summarizedTimeline > timeline || (summarizedTimeline == timeline && summarized.Value >= lsn.Value)))
            {
                return null;
            }

            if (time.GetElapsedTime(started) >= wait)
            {
                return string.Create(CultureInfo.InvariantCulture,
                    $"the WAL summarizer did not reach this backup's start {lsn} within {wait.TotalSeconds:0} s (it has summarized up to {(fields.Length == 2 ? fields[1] : "nothing")})");
            }

            await Task.Delay(delay, time, cancellationToken).ConfigureAwait(false);
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromMilliseconds(250).Ticks));
        }
    }

    /// <summary>The summaries of <paramref name="timeline"/> overlapping [<paramref name="from"/>, <paramref name="to"/>), or the first LSN none covers.</summary>
    private static async Task<(List<(Lsn Start, Lsn End)> Ranges, string? Gap)> CoveringSummariesAsync(NpgsqlConnection connection, Lsn from, Lsn to, uint timeline,
        CancellationToken cancellationToken)
    {
        var ranges = new List<(Lsn Start, Lsn End)>();
        var command = new NpgsqlCommand(
            "SELECT start_lsn::text, end_lsn::text FROM pg_available_wal_summaries() WHERE tli = $1 AND end_lsn > $2::pg_lsn AND start_lsn < $3::pg_lsn ORDER BY start_lsn, end_lsn",
            connection);
        await using (command.ConfigureAwait(false))
        {
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = timeline });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = from.ToString() });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = to.ToString() });
            var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using (reader.ConfigureAwait(false))
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    ranges.Add((Lsn.Parse(reader.GetString(0)), Lsn.Parse(reader.GetString(1))));
                }
            }
        }

        // Covered when the summaries, in start order, leave no LSN of [from, to) out.
        var covered = from;
        foreach (var (start, end) in ranges)
        {
            if (start.Value > covered.Value)
            {
                break;
            }

            covered = end.Value > covered.Value ? end : covered;
        }

        if (covered.Value >= to.Value)
        {
            return (ranges, null);
        }

        return (ranges, string.Create(CultureInfo.InvariantCulture,
            $"the WAL summaries of timeline {timeline} do not cover {covered} (the base starts at {from}, this backup at {to}): removed (wal_summary_keep_time), or the summarizer was off or behind"));
    }

    /// <summary>Streams one summary's rows into <paramref name="map"/>.</summary>
    private static async Task ReadContentsAsync(NpgsqlConnection connection, uint timeline, Lsn start, Lsn end, ChangedBlockMap map, CancellationToken cancellationToken)
    {
        var command = new NpgsqlCommand(
            "SELECT reltablespace, reldatabase, relfilenode, relforknumber, relblocknumber, is_limit_block FROM pg_wal_summary_contents($1, $2::pg_lsn, $3::pg_lsn)",
            connection);
        await using (command.ConfigureAwait(false))
        {
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = timeline });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = start.ToString() });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = end.ToString() });
            var reader = await command.ExecuteReaderAsync(CommandBehavior.SequentialAccess, cancellationToken).ConfigureAwait(false);
            await using (reader.ConfigureAwait(false))
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    var fork = new RelationFork(reader.GetFieldValue<uint>(0), reader.GetFieldValue<uint>(1), reader.GetFieldValue<uint>(2), (byte)reader.GetInt16(3));
                    var block = (uint)reader.GetInt64(4);
                    if (reader.GetBoolean(5))
                    {
                        map.SetLimitBlock(fork, block);
                    }
                    else
                    {
                        map.MarkChanged(fork, block);
                    }
                }
            }
        }
    }

    private static async Task<string?> ScalarAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        var command = new NpgsqlCommand(sql, connection);
        await using (command.ConfigureAwait(false))
        {
            return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as string;
        }
    }
}
