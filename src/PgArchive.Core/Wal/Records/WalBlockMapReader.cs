using System.Globalization;
using PgArchive.PostgresTypes;
using PgArchive.Storage;

namespace PgArchive.Wal.Records;

/// <summary>What <see cref="WalBlockMapReader.ReadAsync"/> found: the changes, or why they are not known.</summary>
/// <param name="Changes">Changed blocks and limit blocks of every record in the range; null when not available.</param>
/// <param name="NotAvailable">Why the changes are not known (a delta must then scan pages); null when they are.</param>
/// <param name="FromArchive">Segments whose map came from the archive.</param>
/// <param name="FromPgWal">Segments parsed from the local pg_wal directory.</param>
internal sealed record WalBlockMapResult(WalBlockChanges? Changes, string? NotAvailable, int FromArchive, int FromPgWal);

/// <summary>
/// Gathers the block maps of the segments that hold an LSN range of one timeline: from the archive, or parsed from the
/// server's pg_wal where a segment has no map yet (the range's last segment is usually still being written), and joins
/// the record each segment ends inside with the next segment's continuation.
/// </summary>
internal sealed class WalBlockMapReader(IObjectStore store, ObjectCodec codec)
{
    private readonly WalBlockMapStore _maps = new(store, codec);

    /// <summary>
    /// The blocks changed by records in [<paramref name="from"/>, <paramref name="to"/>) of <paramref name="timeline"/>
    /// (whole segments: a few records before <paramref name="from"/> may add blocks, never remove one).
    /// <paramref name="baseTimeline"/> is the timeline <paramref name="from"/> was taken on: another one means a timeline switch in the range, which maps do not follow.
    /// </summary>
    public async Task<WalBlockMapResult> ReadAsync(uint baseTimeline, uint timeline, Lsn from, Lsn to, long segmentSize, string? pgWalDirectory,
        CancellationToken cancellationToken)
    {
        if (baseTimeline != timeline)
        {
            return Unavailable(string.Create(CultureInfo.InvariantCulture,
                $"the range crosses a timeline switch (from timeline {baseTimeline} to {timeline}); block maps are read on one timeline only"));
        }

        var changes = new WalBlockChanges();
        if (to <= from)
        {
            return new(changes, null, 0, 0);
        }

        var keys = await _maps.ListAsync(timeline, cancellationToken).ConfigureAwait(false);
        var first = WalSegment.Containing(from, timeline, segmentSize);
        var last = WalSegment.Containing(new Lsn(to.Value - 1), timeline, segmentSize);
        WalBlockMap? previous = null;
        WalFormat? format = null;
        int fromArchive = 0, fromPgWal = 0;
        for (var segment = first; ; segment = segment.Next())
        {
            var past = segment > last;
            if (past && (previous is null || previous.TailLsn == 0 || previous.TailLsn >= to.Value))
            {
                break; // the last segment ends on a record boundary, or the record it ends inside starts at or after the range's end
            }

            var (map, reason, local) = await LoadAsync(segment, keys, pgWalDirectory, cancellationToken).ConfigureAwait(false);
            if (map is null)
            {
                return Unavailable(reason!);
            }

            fromArchive += local ? 0 : 1;
            fromPgWal += local ? 1 : 0;
            format ??= WalFormat.FromMagic(map.PageMagic);
            if (format is null || format.Magic != map.PageMagic)
            {
                return Unavailable(string.Create(CultureInfo.InvariantCulture, $"the map of {segment.FileName} is of WAL page magic {map.PageMagic:X4}, which this build does not parse, or differs from its neighbours'"));
            }

            if (map.Unusable is { } unusable)
            {
                return Unavailable($"{segment.FileName}: {unusable}");
            }

            if (previous is not null && Join(previous, map, format, changes) is { } joinFailure)
            {
                return Unavailable(joinFailure);
            }

            if (!past)
            {
                changes.Add(map.Changes);
            }

            previous = map;
            if (past)
            {
                break;
            }
        }

        return new(changes, null, fromArchive, fromPgWal);
    }

    /// <summary>
    /// Decodes the record <paramref name="previous"/> ends inside from its bytes there and the continuation at the start of
    /// <paramref name="next"/>; null when done (or nothing to do), else why it cannot be.
    /// </summary>
    internal static string? Join(WalBlockMap previous, WalBlockMap next, WalFormat format, WalBlockChanges changes)
    {
        if (previous.TailLsn == 0)
        {
            return null;
        }

        if (next.ContinuationLength == 0)
        {
            return null; // the record was never finished: PostgreSQL overwrote it (XLP_FIRST_IS_OVERWRITE_CONTRECORD) and never replays it
        }

        if (next.ContinuationLength != previous.TailTotalLength - previous.TailLengthHere)
        {
            return string.Create(CultureInfo.InvariantCulture,
                $"the record at {new Lsn(previous.TailLsn)} has {previous.TailTotalLength - previous.TailLengthHere} bytes left at its segment's end, but the next segment continues one of {next.ContinuationLength}");
        }

        var whole = previous.TailBytes.Length == previous.TailLengthHere;
        byte[] joined = whole ? [.. previous.TailBytes, .. next.ContinuationBytes] : previous.TailBytes;
        var record = new WalDecodedRecord();
        record.Reset(new Lsn(previous.TailLsn), previous.TailTotalLength);
        var outcome = WalRecordDecoder.Decode(joined, previous.TailTotalLength, format, record);
        if (outcome != WalDecodeOutcome.Complete)
        {
            return string.Create(CultureInfo.InvariantCulture,
                $"the record at {record.Lsn} crosses a segment boundary and is larger ({record.TotalLength} bytes) than the maps keep of it");
        }

        changes.Add(record);
        return null;
    }

    private async Task<(WalBlockMap? Map, string? Reason, bool Local)> LoadAsync(WalSegment segment, Dictionary<string, string> keys, string? pgWalDirectory,
        CancellationToken cancellationToken)
    {
        if (keys.TryGetValue(segment.FileName, out var key))
        {
            try
            {
                return (await _maps.ReadAsync(key, cancellationToken).ConfigureAwait(false), null, false);
            }
            catch (ObjectStoreException ex) when (ex.Kind == ObjectStoreErrorKind.NotFound)
            {
                // removed since the listing: try pg_wal
            }
            catch (Exception ex) when (ex is FormatException or InvalidDataException or EndOfStreamException or PgArchiveException
                                           or System.Security.Cryptography.CryptographicException)
            {
                return (null, $"the block map '{key}' cannot be read: {ex.Message}", false);
            }
        }

        var local = pgWalDirectory is null ? null : Path.Combine(pgWalDirectory, segment.FileName);
        if (local is null || !File.Exists(local))
        {
            return (null, $"{segment.FileName} has no block map in the archive" + (pgWalDirectory is null ? "" : " and is not in pg_wal"), false);
        }

        try
        {
            var parsed = await WalBlockMapStore.ParseFileAsync(local, cancellationToken).ConfigureAwait(false);
            return parsed.Map is { } map && map.SegmentNumber == segment.Number
                ? (map, null, true)
                : (null, $"{local} cannot be parsed: {parsed.Reason ?? "it holds another segment"}", true);
        }
        catch (FileNotFoundException)
        {
            return (null, $"{segment.FileName} has no block map in the archive and left pg_wal while it was read", true);
        }
    }

    private static WalBlockMapResult Unavailable(string reason) => new(null, reason, 0, 0);
}
