using System.Text.Json.Serialization;
using Microsoft.Extensions.Options;
using PgArchive.Backups;
using PgArchive.Postgres;
using PgArchive.PostgresTypes;
using PgArchive.Storage;
using PgArchive.Wal;

namespace PgArchive.Verification;

/// <summary>What wal-verify checks and against which current segment.</summary>
public sealed class WalVerifyRequest
{
    /// <summary>Check that every segment from the oldest backup's start to the current segment is archived.</summary>
    public bool Integrity { get; init; } = true;

    /// <summary>Check that the archive's highest timeline is the server's.</summary>
    public bool Timeline { get; init; } = true;

    /// <summary>
    /// The server's position; null asks the server (libpq's environment). When the server cannot be reached, the
    /// newest archived segment of the highest timeline stands for the current one and the timeline check warns.
    /// </summary>
    public ServerWalPosition? Server { get; init; }

    /// <summary>
    /// Check integrity from this backup's start segment (WAL-G's <c>--backup-name</c>; a permanent backup may be named)
    /// instead of the oldest impermanent backup's. Null: the oldest impermanent backup.
    /// </summary>
    public string? BackupName { get; init; }

    /// <summary>Missing segments just below the current one counted as not yet archived (<c>WALG_INTEGRITY_MAX_DELAYED_WALS</c>, default 0).</summary>
    public int DelayedWindow { get; init; }

    /// <summary>Missing segments after those counted as still uploading (<c>WALG_UPLOAD_CONCURRENCY</c>, default 16).</summary>
    public int UploadingWindow { get; init; } = 16;
}

/// <summary>
/// wal-verify: the integrity check walks back from the server's current segment (exclusive, it is being written)
/// through the timeline history to the start segment of the oldest impermanent backup on that history and finds
/// every segment that is missing; the timeline check compares the archive's highest timeline with the server's.
/// Results, statuses and JSON are WAL-G's.
/// </summary>
public sealed class WalVerifier
{
    private readonly IObjectStore _store;
    private readonly ObjectCodec _codec;
    private readonly BackupCatalog _catalog;
    private readonly PgArchiveOptions _options;

    /// <summary>Creates the service.</summary>
    public WalVerifier(IObjectStore store, ObjectCodec codec, BackupCatalog catalog, IOptions<PgArchiveOptions> options)
    {
        _store = store ?? throw new ArgumentNullException(nameof(store));
        _codec = codec ?? throw new ArgumentNullException(nameof(codec));
        _catalog = catalog ?? throw new ArgumentNullException(nameof(catalog));
        _options = (options ?? throw new ArgumentNullException(nameof(options))).Value;
    }

    /// <summary>Runs the checks asked for.</summary>
    public async Task<WalVerifyReport> VerifyAsync(WalVerifyRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var server = request.Server;
        string? serverError = null;
        if (server is null)
        {
            (server, serverError) = await PostgresServerProbe.TryQueryAsync(_options.ConnectionString, cancellationToken).ConfigureAwait(false);
        }

        var backups = (await _catalog.ListDetailedAsync(cancellationToken).ConfigureAwait(false)).Backups;
        var segmentSize = server is { SegmentSize: > 0 } ? server.SegmentSize : BackupDetail.InferSegmentSize(backups); // 0: given without one
        var wal = await WalArchiveInventory.LoadAsync(_store, _codec, segmentSize, cancellationToken).ConfigureAwait(false);
        var report = Verify(request, server, wal, backups);
        report.ServerError = serverError;
        return report;
    }

    internal static WalVerifyReport Verify(WalVerifyRequest request, ServerWalPosition? server, WalArchiveInventory wal, IReadOnlyList<BackupDetail> backups)
    {
        var report = new WalVerifyReport { Server = server };
        var highest = wal.Timelines.Count == 0 ? 0u : wal.Timelines[^1];
        if (request.Integrity)
        {
            report.Integrity = CheckIntegrity(request, server, wal, backups, highest, report);
        }

        if (request.Timeline)
        {
            var current = server?.Timeline ?? 0;
            report.Timeline = new WalTimelineCheck
            {
                Status = server is null || highest == 0 ? WalCheckStatus.Warning : current == highest ? WalCheckStatus.Ok : WalCheckStatus.Failure,
                Details = new WalTimelineCheckDetails { CurrentTimelineId = current, HighestStorageTimelineId = highest },
            };
        }

        return report;
    }

    private static WalIntegrityCheck CheckIntegrity(WalVerifyRequest request, ServerWalPosition? server, WalArchiveInventory wal, IReadOnlyList<BackupDetail> backups,
        uint highest, WalVerifyReport report)
    {
        uint timeline;
        ulong top;
        if (server is not null && server.Lsn.Value > 0)
        {
            timeline = server.Timeline;
            var current = WalSegment.Containing(new Lsn(server.Lsn.Value - 1), timeline, wal.SegmentSize);
            report.CurrentSegment = current.FileName;
            if (current.Number == 0)
            {
                return new WalIntegrityCheck { Status = WalCheckStatus.Ok };
            }

            top = current.Number - 1; // the current segment is still being written
        }
        else
        {
            var newest = wal.Segments.Where(s => s.Timeline == highest).DefaultIfEmpty().Max();
            if (newest == default)
            {
                report.Notes.Add("The archive holds no WAL segment and the server cannot be asked for its current one.");
                return new WalIntegrityCheck { Status = WalCheckStatus.Warning };
            }

            timeline = highest;
            top = newest.Number;
            report.CurrentSegment = newest.FileName;
            report.Notes.Add($"The server cannot be reached: checking up to the newest archived segment {newest.FileName}.");
        }

        var history = wal.HistoryOf(timeline);
        if (history is null)
        {
            report.Notes.Add($"Timeline {timeline} has no history file in the archive: earlier timelines are not followed.");
            history = TimelineHistory.Root(timeline);
        }

        var eligible = backups
            .Where(b => (request.BackupName is null ? !b.IsPermanent : b.Name == request.BackupName) && history.Contains(b.Timeline, b.StartLsn))
            .Select(b => (Backup: b, Start: WalSegment.Parse(b.Info.WalFileName, wal.SegmentSize).Number))
            .Where(b => b.Start <= top)
            .OrderBy(b => b.Start)
            .FirstOrDefault();
        if (request.BackupName is { } named && eligible.Backup is null)
        {
            // WAL-G's getSpecifiedBackupStartSegmentNo: a named backup must exist and lie on the checked timeline's history.
            throw backups.Any(b => b.Name == named)
                ? new PgArchiveException($"wal-verify --backup-name {named}: that backup does not lie on the history of timeline {timeline} " +
                    $"before {new WalSegment(timeline, top, wal.SegmentSize).FileName}, so integrity cannot be checked from it.")
                : new BackupNotFoundException($"wal-verify --backup-name {named}: no such backup in the archive (or it cannot be read); backup-list shows the backups there are.");
        }

        ulong stop;
        var oldest = eligible.Backup;
        var noBackup = oldest is null;
        if (oldest is null)
        {
            var archived = wal.Segments.Where(s => s.Number <= top && history.TimelineOfSegment(s.Number, wal.SegmentSize) == s.Timeline).Select(s => s.Number).ToList();
            stop = archived.Count > 0 ? archived.Min() : top;
            report.Notes.Add("No impermanent backup lies on this timeline's history: checking from the oldest archived segment.");
        }
        else
        {
            stop = eligible.Start;
            report.OldestBackup = oldest.Name;
        }

        var scanned = new List<(uint Timeline, ulong Number, WalSegmentStatus Status)>();
        var phase = request.DelayedWindow > 0 ? 0 : 1;
        var inPhase = 0;
        for (var n = top; ; n--)
        {
            var onTimeline = history.TimelineOfSegment(n, wal.SegmentSize);
            var found = wal.HasSegment(onTimeline, n);
            if (phase == 0 && (found || inPhase >= request.DelayedWindow))
            {
                (phase, inPhase) = (1, 0);
            }

            if (phase == 1 && inPhase >= request.UploadingWindow)
            {
                (phase, inPhase) = (2, 0);
            }

            var status = found ? WalSegmentStatus.Found
                : phase == 0 ? WalSegmentStatus.MissingDelayed
                : phase == 1 ? WalSegmentStatus.MissingUploading
                : WalSegmentStatus.MissingLost;
            scanned.Add((onTimeline, n, status));
            inPhase++;
            if (n == stop || n == 0)
            {
                break;
            }
        }

        scanned.Reverse();
        var ranges = new List<WalSegmentRange>();
        foreach (var (tli, number, status) in scanned)
        {
            if (ranges.Count > 0 && ranges[^1].TimelineId == tli && ranges[^1].Status == status)
            {
                ranges[^1].EndSegment = new WalSegment(tli, number, wal.SegmentSize).FileName;
                ranges[^1].SegmentsCount++;
            }
            else
            {
                var name = new WalSegment(tli, number, wal.SegmentSize).FileName;
                ranges.Add(new WalSegmentRange { TimelineId = tli, StartSegment = name, EndSegment = name, SegmentsCount = 1, Status = status });
            }
        }

        var result = noBackup ? WalCheckStatus.Warning : WalCheckStatus.Ok;
        if (ranges.Any(r => r.Status == WalSegmentStatus.MissingLost))
        {
            result = WalCheckStatus.Failure;
        }
        else if (ranges.Any(r => r.Status != WalSegmentStatus.Found))
        {
            result = WalCheckStatus.Warning;
        }

        return new WalIntegrityCheck { Status = result, Details = ranges };
    }
}

/// <summary>OK, WARNING or FAILURE, as WAL-G prints them.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<WalCheckStatus>))]
public enum WalCheckStatus
{
    /// <summary>Nothing wrong.</summary>
    [JsonStringEnumMemberName("OK")]
    Ok,

    /// <summary>Something could not be decided or may fix itself (segments still uploading).</summary>
    [JsonStringEnumMemberName("WARNING")]
    Warning,

    /// <summary>Point-in-time recovery would fail.</summary>
    [JsonStringEnumMemberName("FAILURE")]
    Failure,
}

/// <summary>What the integrity check found of one segment, as WAL-G names it.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<WalSegmentStatus>))]
public enum WalSegmentStatus
{
    /// <summary>Archived.</summary>
    [JsonStringEnumMemberName("FOUND")]
    Found,

    /// <summary>Missing, probably not handed to archive_command yet.</summary>
    [JsonStringEnumMemberName("MISSING_DELAYED")]
    MissingDelayed,

    /// <summary>Missing, probably being uploaded.</summary>
    [JsonStringEnumMemberName("MISSING_UPLOADING")]
    MissingUploading,

    /// <summary>Missing and lost: recovery through it would stop there.</summary>
    [JsonStringEnumMemberName("MISSING_LOST")]
    MissingLost,
}

/// <summary>wal-verify's result; serialises as WAL-G's JSON (<c>{"integrity": {...}, "timeline": {...}}</c>).</summary>
public sealed class WalVerifyReport
{
    /// <summary>The integrity check, when asked for.</summary>
    [JsonPropertyName("integrity")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public WalIntegrityCheck? Integrity { get; set; }

    /// <summary>The timeline check, when asked for.</summary>
    [JsonPropertyName("timeline")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public WalTimelineCheck? Timeline { get; set; }

    /// <summary>True when a check failed.</summary>
    [JsonIgnore]
    public bool HasFailure => Integrity?.Status == WalCheckStatus.Failure || Timeline?.Status == WalCheckStatus.Failure;

    /// <summary>The server's position, when it could be asked.</summary>
    [JsonIgnore]
    public ServerWalPosition? Server { get; internal set; }

    /// <summary>Why the server could not be asked, when it could not.</summary>
    [JsonIgnore]
    public string? ServerError { get; internal set; }

    /// <summary>The segment the integrity check counted back from.</summary>
    [JsonIgnore]
    public string? CurrentSegment { get; internal set; }

    /// <summary>The backup whose start ends the integrity check.</summary>
    [JsonIgnore]
    public string? OldestBackup { get; internal set; }

    /// <summary>Remarks on how the checks were run.</summary>
    [JsonIgnore]
    public List<string> Notes { get; } = [];
}

/// <summary>The integrity check.</summary>
public sealed class WalIntegrityCheck
{
    /// <summary>FAILURE when a segment is lost, WARNING when some may still be uploading.</summary>
    [JsonPropertyName("status")]
    public WalCheckStatus Status { get; set; }

    /// <summary>The segments scanned, oldest first, in runs of one timeline and status.</summary>
    [JsonPropertyName("details")]
    public List<WalSegmentRange> Details { get; set; } = [];
}

/// <summary>A run of segments of one timeline with one status.</summary>
public sealed class WalSegmentRange
{
    /// <summary>The timeline.</summary>
    [JsonPropertyName("timeline_id")]
    public uint TimelineId { get; set; }

    /// <summary>The first segment of the run.</summary>
    [JsonPropertyName("start_segment")]
    public string StartSegment { get; set; } = "";

    /// <summary>The last segment of the run.</summary>
    [JsonPropertyName("end_segment")]
    public string EndSegment { get; set; } = "";

    /// <summary>How many segments.</summary>
    [JsonPropertyName("segments_count")]
    public int SegmentsCount { get; set; }

    /// <summary>Found or missing, and how.</summary>
    [JsonPropertyName("status")]
    public WalSegmentStatus Status { get; set; }
}

/// <summary>The timeline check.</summary>
public sealed class WalTimelineCheck
{
    /// <summary>OK when the server's timeline is the archive's highest, FAILURE when not, WARNING when unknown.</summary>
    [JsonPropertyName("status")]
    public WalCheckStatus Status { get; set; }

    /// <summary>The timelines compared.</summary>
    [JsonPropertyName("details")]
    public WalTimelineCheckDetails Details { get; set; } = new();
}

/// <summary>The timelines the timeline check compared.</summary>
public sealed class WalTimelineCheckDetails
{
    /// <summary>The server's timeline (0 when it cannot be reached).</summary>
    [JsonPropertyName("current_timeline_id")]
    public uint CurrentTimelineId { get; set; }

    /// <summary>The highest timeline of a segment or history file in the archive.</summary>
    [JsonPropertyName("highest_storage_timeline_id")]
    public uint HighestStorageTimelineId { get; set; }
}
