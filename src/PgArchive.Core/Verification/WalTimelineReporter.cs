using System.Text.Json.Serialization;
using PgArchive.Backups;
using PgArchive.PostgresTypes;
using PgArchive.Storage;
using PgArchive.Wal;

namespace PgArchive.Verification;

/// <summary>
/// wal-show: the timelines in the archive, each with its segment range, the segments missing inside it, its
/// parent and switch point (from its history file), and the backups whose recovery follows it.
/// </summary>
public sealed class WalTimelineReporter(IObjectStore store, ObjectCodec codec, BackupCatalog catalog)
{
    private readonly IObjectStore _store = store ?? throw new ArgumentNullException(nameof(store));
    private readonly ObjectCodec _codec = codec ?? throw new ArgumentNullException(nameof(codec));
    private readonly BackupCatalog _catalog = catalog ?? throw new ArgumentNullException(nameof(catalog));

    /// <summary>Every timeline that has segments in the archive, ascending.</summary>
    public async Task<IReadOnlyList<TimelineInfo>> ReportAsync(bool includeBackups = true, CancellationToken cancellationToken = default)
    {
        // Backups that cannot be read are left out (the catalog logs each): the timelines are reported all the same.
        var backups = includeBackups ? (await _catalog.ListDetailedAsync(cancellationToken).ConfigureAwait(false)).Backups : [];
        var wal = await WalArchiveInventory.LoadAsync(_store, _codec, BackupDetail.InferSegmentSize(backups), cancellationToken).ConfigureAwait(false);
        return Report(wal, backups, includeBackups);
    }

    internal static List<TimelineInfo> Report(WalArchiveInventory wal, IReadOnlyList<BackupDetail> backups, bool includeBackups)
    {
        var result = new List<TimelineInfo>();
        foreach (var group in wal.Segments.GroupBy(s => s.Timeline).OrderBy(g => g.Key))
        {
            var numbers = group.Select(s => s.Number).ToHashSet();
            var first = group.Min();
            var last = group.Max();
            var missing = new List<string>();
            for (var n = first.Number; n < last.Number; n++)
            {
                if (!numbers.Contains(n))
                {
                    missing.Add(new WalSegment(group.Key, n, wal.SegmentSize).FileName);
                }
            }

            var history = wal.HistoryOf(group.Key);
            var info = new TimelineInfo
            {
                Id = group.Key,
                ParentId = history?.Parent ?? 0,
                SwitchPointLsn = history?.SwitchLsn.Value ?? 0,
                StartSegment = first.FileName,
                EndSegment = last.FileName,
                SegmentsCount = numbers.Count,
                MissingSegments = missing,
                SegmentRangeSize = last.Number - first.Number + 1,
                Status = missing.Count == 0 ? TimelineInfo.OkStatus : TimelineInfo.LostSegmentsStatus,
            };
            if (includeBackups)
            {
                List<BackupDetailEntry> dependent = [.. backups.Where(b => wal.LineageContains(group.Key, b.Timeline, b.StartLsn)).Select(b => b.ToEntry())];
                info.Backups = dependent.Count > 0 ? dependent : null; // omitted when empty, as WAL-G does
            }

            result.Add(info);
        }

        return result;
    }
}

/// <summary>One timeline of wal-show, with WAL-G's JSON names.</summary>
public sealed class TimelineInfo
{
    /// <summary>No segment missing in the range.</summary>
    public const string OkStatus = "OK";

    /// <summary>Some segments of the range are missing.</summary>
    public const string LostSegmentsStatus = "LOST_SEGMENTS";

    /// <summary>The timeline.</summary>
    [JsonPropertyName("id")]
    public uint Id { get; set; }

    /// <summary>The timeline it branched from (0 when unknown or none).</summary>
    [JsonPropertyName("parent_id")]
    public uint ParentId { get; set; }

    /// <summary>Where it branched (a number, as WAL-G writes LSNs).</summary>
    [JsonPropertyName("switch_point_lsn")]
    public ulong SwitchPointLsn { get; set; }

    /// <summary>The oldest archived segment.</summary>
    [JsonPropertyName("start_segment")]
    public string StartSegment { get; set; } = "";

    /// <summary>The newest archived segment.</summary>
    [JsonPropertyName("end_segment")]
    public string EndSegment { get; set; } = "";

    /// <summary>Segments archived.</summary>
    [JsonPropertyName("segments_count")]
    public int SegmentsCount { get; set; }

    /// <summary>Segments missing between the oldest and the newest.</summary>
    [JsonPropertyName("missing_segments")]
    public List<string> MissingSegments { get; set; } = [];

    /// <summary>The backups whose recovery follows this timeline (taken on it, or on an ancestor before it branched).</summary>
    [JsonPropertyName("backups")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public List<BackupDetailEntry>? Backups { get; set; }

    /// <summary>Segments from the oldest to the newest, inclusive.</summary>
    [JsonPropertyName("segment_range_size")]
    public ulong SegmentRangeSize { get; set; }

    /// <summary><c>OK</c> or <c>LOST_SEGMENTS</c>.</summary>
    [JsonPropertyName("status")]
    public string Status { get; set; } = OkStatus;
}
