using System.Globalization;
using PgArchive.PostgresTypes;
using PgArchive.Storage;

namespace PgArchive.Wal;

/// <summary>One object under <c>wal_005/</c>, its name understood.</summary>
/// <param name="Info">The stored object.</param>
/// <param name="FileName">The WAL file name without the compression extension, or the bare object name when it is not a WAL file.</param>
/// <param name="Kind">What it is; null for an object that is not a WAL file.</param>
/// <param name="Segment">The segment it belongs to (segments, .partial segments and .backup files); null otherwise.</param>
public sealed record WalObject(ObjectInfo Info, string FileName, WalFileKind? Kind, WalSegment? Segment);

/// <summary>
/// What <c>wal_005/</c> holds: segments grouped by timeline, the timeline histories, and everything else;
/// the basis of wal-show, wal-verify and retention.
/// </summary>
public sealed class WalArchiveInventory
{
    private readonly HashSet<(uint Timeline, ulong Number)> _segments;
    private readonly Dictionary<uint, TimelineHistory> _histories;

    private WalArchiveInventory(IReadOnlyList<WalObject> objects, Dictionary<uint, TimelineHistory> histories, IReadOnlyList<string> unreadable, long segmentSize)
    {
        Objects = objects;
        _histories = histories;
        UnreadableHistories = unreadable;
        SegmentSize = segmentSize;
        _segments = [.. objects.Where(o => o.Kind == WalFileKind.Segment).Select(o => (o.Segment!.Value.Timeline, o.Segment.Value.Number))];
    }

    /// <summary>Every object under wal_005/, in key order.</summary>
    public IReadOnlyList<WalObject> Objects { get; }

    /// <summary>The WAL segment size the names were read with.</summary>
    public long SegmentSize { get; }

    /// <summary>History files that exist but could not be read (corrupt, or another encryption key).</summary>
    public IReadOnlyList<string> UnreadableHistories { get; }

    /// <summary>Complete segments (not .partial), by timeline then number.</summary>
    public IEnumerable<WalSegment> Segments => Objects.Where(o => o.Kind == WalFileKind.Segment).Select(o => o.Segment!.Value).Distinct().Order();

    /// <summary>The timelines that have segments or a history file, ascending.</summary>
    public IReadOnlyList<uint> Timelines => [.. _segments.Select(s => s.Timeline).Concat(_histories.Keys).Distinct().Order()];

    /// <summary>True when the complete segment is archived.</summary>
    public bool HasSegment(uint timeline, ulong number) => _segments.Contains((timeline, number));

    /// <summary>The history of <paramref name="timeline"/>: timeline 1's is empty; null when a later timeline's file is missing.</summary>
    public TimelineHistory? HistoryOf(uint timeline) =>
        _histories.TryGetValue(timeline, out var history) ? history : timeline == 1 ? TimelineHistory.Root(1) : null;

    /// <summary>
    /// True when recovery following <paramref name="timeline"/> passes through <paramref name="lsn"/> of
    /// <paramref name="pointTimeline"/>. Without the history file the answer is assumed yes for a later timeline (it may descend from it).
    /// </summary>
    public bool LineageContains(uint timeline, uint pointTimeline, Lsn lsn)
    {
        if (timeline == pointTimeline)
        {
            return true;
        }

        var history = HistoryOf(timeline);
        return history is null ? timeline > pointTimeline : history.Contains(pointTimeline, lsn);
    }

    /// <summary>Lists wal_005/ and reads the timeline history files.</summary>
    public static async Task<WalArchiveInventory> LoadAsync(IObjectStore store, ObjectCodec codec, long segmentSize, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(codec);
        var objects = new List<WalObject>();
        await foreach (var info in store.ListAsync(ArchiveLayout.WalPrefix, cancellationToken).ConfigureAwait(false))
        {
            objects.Add(Describe(info, segmentSize));
        }

        var histories = new Dictionary<uint, TimelineHistory>();
        var unreadable = new List<string>();
        foreach (var history in objects.Where(o => o.Kind == WalFileKind.TimelineHistory))
        {
            var timeline = uint.Parse(history.FileName.AsSpan(0, 8), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
            if (histories.ContainsKey(timeline))
            {
                continue;
            }

            try
            {
                var stream = await codec.OpenDecodedAsync(store, history.Info.Key, cancellationToken).ConfigureAwait(false);
                await using (stream.ConfigureAwait(false))
                {
                    using var reader = new StreamReader(stream);
                    histories[timeline] = TimelineHistory.Parse(timeline, await reader.ReadToEndAsync(cancellationToken).ConfigureAwait(false));
                }
            }
            catch (Exception ex) when (ex is FormatException or InvalidDataException or EndOfStreamException or PgArchiveException
                                           or System.Security.Cryptography.CryptographicException)
            {
                unreadable.Add(history.Info.Key);
            }
        }

        return new WalArchiveInventory(objects, histories, unreadable, segmentSize);
    }

    /// <summary>Understands one object key under wal_005/.</summary>
    public static WalObject Describe(ObjectInfo info, long segmentSize)
    {
        ArgumentNullException.ThrowIfNull(info);
        var name = info.Key.StartsWith(ArchiveLayout.WalPrefix, StringComparison.Ordinal) ? info.Key[ArchiveLayout.WalPrefix.Length..] : info.Key;
        var fileName = name;
        var kind = WalFileName.Classify(fileName);
        if (kind is null && name.LastIndexOf('.') is > 0 and var dot)
        {
            fileName = name[..dot];
            kind = WalFileName.Classify(fileName);
        }

        if (kind is null)
        {
            return new WalObject(info, name, null, null);
        }

        WalSegment? segment = null;
        if (kind != WalFileKind.TimelineHistory && WalSegment.TryParse(fileName[..24], out var parsed, segmentSize))
        {
            segment = parsed;
        }

        return new WalObject(info, fileName, segment is null && kind != WalFileKind.TimelineHistory ? null : kind, segment);
    }
}
