using System.Globalization;
using PgArchive.PostgresTypes;
using PgArchive.Storage;

namespace PgArchive.Wal;

/// <summary>
/// When wal-fetch may answer a request for a segment with that segment's <c>.partial</c> object, as pg_receivewal users
/// do by renaming the last <c>.partial</c> file into <c>pg_wal</c>: a <c>.partial</c> is the segment's first bytes
/// followed by zeros (wal-receive pads it so), and recovery replays up to the end of its valid records, then ends.
/// </summary>
/// <remarks>
/// It is refused when a later timeline in the archive branched off the segment's timeline before the segment's end (its
/// history file names that timeline with a switch point at or before it): the segment then lives on in the newer
/// timeline's file, and the <c>.partial</c> of the old one (PostgreSQL archives one at every promotion) may hold WAL past
/// the switch point that the new timeline does not have. PostgreSQL never restores a <c>.partial</c> for that reason.
/// Later timelines are probed from the segment's timeline + 1 to the first one without a history file, as PostgreSQL
/// looks for the newest timeline.
/// </remarks>
internal static class PartialSegmentFallback
{
    /// <summary>True when the <c>.partial</c> stored under <paramref name="partialKey"/> may stand for segment <paramref name="segmentName"/>.</summary>
    public static async Task<bool> AllowedAsync(IObjectStore store, ObjectCodec codec, string segmentName, string partialKey, CancellationToken cancellationToken)
    {
        var header = new byte[WalLongPageHeader.Size];
        var decoded = await codec.OpenDecodedAsync(store, partialKey, cancellationToken).ConfigureAwait(false);
        await using (decoded.ConfigureAwait(false))
        {
            if (await decoded.ReadAtLeastAsync(header, header.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false) < header.Length)
            {
                return true; // too short to be a segment: the fetch itself reports it as damaged
            }
        }

        var page = WalLongPageHeader.Read(header);
        if (page.Mismatch(segmentName) is not null)
        {
            return true; // the fetch's segment check names what is wrong
        }

        var segment = WalSegment.Parse(segmentName, page.SegmentSize);
        var end = segment.Next().StartLsn;
        for (var timeline = segment.Timeline + 1; timeline > segment.Timeline; timeline++)
        {
            var history = await ReadHistoryAsync(store, codec, timeline, cancellationToken).ConfigureAwait(false);
            if (history is null)
            {
                return true;
            }

            if (history.Entries.Any(e => e.ParentTimeline == segment.Timeline && e.SwitchLsn <= end))
            {
                return false;
            }
        }

        return true;
    }

    private static async Task<TimelineHistory?> ReadHistoryAsync(IObjectStore store, ObjectCodec codec, uint timeline, CancellationToken cancellationToken)
    {
        var name = string.Create(CultureInfo.InvariantCulture, $"{timeline:X8}.history");
        foreach (var compressor in codec.Compressors.ProbeOrder)
        {
            Stream stream;
            try
            {
                stream = await codec.OpenDecodedAsync(store, ArchiveLayout.WalKey(name, compressor.FileExtension), cancellationToken).ConfigureAwait(false);
            }
            catch (ObjectStoreException ex) when (ex.Kind == ObjectStoreErrorKind.NotFound)
            {
                continue;
            }

            await using (stream.ConfigureAwait(false))
            {
                using var reader = new StreamReader(stream);
                return TimelineHistory.Parse(timeline, await reader.ReadToEndAsync(cancellationToken).ConfigureAwait(false));
            }
        }

        return null;
    }
}
