using System.Text.Json;
using System.Text.Json.Nodes;
using PgArchive.Backups;
using PgArchive.Postgres;
using PgArchive.PostgresTypes;
using PgArchive.Retention;

namespace PgArchive.Verification;

public sealed class WalVerifierTests : IDisposable
{
    private const long SegmentSize = 16L << 20;
    private readonly SyntheticArchive _archive = new();

    public void Dispose() => _archive.Dispose();

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    /// <summary>A server on <paramref name="timeline"/> writing 0x100 bytes into segment <paramref name="segment"/>.</summary>
    private static ServerWalPosition Server(uint timeline, ulong segment) => new(timeline, new Lsn(segment * SegmentSize + 0x100), SegmentSize, false);

    private Task<WalVerifyReport> VerifyAsync(ServerWalPosition server, int uploading = 2) =>
        _archive.Get<WalVerifier>().VerifyAsync(new WalVerifyRequest { Server = server, UploadingWindow = uploading }, Token);

    [Fact]
    public async Task Integrity_is_ok_from_the_oldest_backup_through_a_timeline_switch()
    {
        _archive.AddBackup(1, 3);
        _archive.AddHistory(2, (1, "0/6800000"));
        _archive.AddWal(1, 1, 6);
        _archive.AddWal(2, 6, 9);

        var report = await VerifyAsync(Server(2, 10));

        Assert.Equal(WalCheckStatus.Ok, report.Integrity!.Status);
        Assert.Equal(WalCheckStatus.Ok, report.Timeline!.Status);
        Assert.Collection(report.Integrity.Details,
            r => Assert.Equal((1u, "000000010000000000000003", "000000010000000000000005", 3, WalSegmentStatus.Found), (r.TimelineId, r.StartSegment, r.EndSegment, r.SegmentsCount, r.Status)),
            r => Assert.Equal((2u, "000000020000000000000006", "000000020000000000000009", 4, WalSegmentStatus.Found), (r.TimelineId, r.StartSegment, r.EndSegment, r.SegmentsCount, r.Status)));
        Assert.Equal("base_000000010000000000000003", report.OldestBackup);
        Assert.False(report.HasFailure);
    }

    [Fact]
    public async Task A_lost_segment_fails_and_recent_missing_ones_only_warn()
    {
        _archive.AddBackup(1, 2);
        _archive.AddWal(1, 2, 3);
        _archive.AddWal(1, 5, 8); // 4 is lost; 9 and 10 are "uploading" below the current segment 11

        var report = await VerifyAsync(Server(1, 11));

        Assert.Equal(WalCheckStatus.Failure, report.Integrity!.Status);
        Assert.True(report.HasFailure);
        Assert.Equal(
            [("000000010000000000000002", WalSegmentStatus.Found), ("000000010000000000000004", WalSegmentStatus.MissingLost),
             ("000000010000000000000005", WalSegmentStatus.Found), ("000000010000000000000009", WalSegmentStatus.MissingUploading)],
            report.Integrity.Details.Select(d => (d.StartSegment, d.Status)));

        _archive.AddWal(1, 4, 4);
        var repaired = await VerifyAsync(Server(1, 11));
        Assert.Equal(WalCheckStatus.Warning, repaired.Integrity!.Status);
    }

    [Fact]
    public async Task Timeline_check_fails_when_the_archive_is_ahead_of_the_server()
    {
        _archive.AddBackup(1, 2);
        _archive.AddWal(1, 2, 4);
        _archive.AddHistory(2, (1, "0/4000000"));

        var report = await VerifyAsync(Server(1, 5));

        Assert.Equal(WalCheckStatus.Failure, report.Timeline!.Status);
        Assert.Equal((1u, 2u), (report.Timeline.Details.CurrentTimelineId, report.Timeline.Details.HighestStorageTimelineId));
    }

    [Fact]
    public void Report_serialises_as_WalG_does()
    {
        var report = new WalVerifyReport
        {
            Integrity = new WalIntegrityCheck
            {
                Status = WalCheckStatus.Failure,
                Details = [new WalSegmentRange { TimelineId = 1, StartSegment = "A", EndSegment = "B", SegmentsCount = 2, Status = WalSegmentStatus.MissingLost }],
            },
            Timeline = new WalTimelineCheck { Status = WalCheckStatus.Ok, Details = new WalTimelineCheckDetails { CurrentTimelineId = 2, HighestStorageTimelineId = 2 } },
        };

        var node = JsonNode.Parse(JsonSerializer.Serialize(report, VerificationJsonContext.Default.WalVerifyReport))!;

        Assert.Equal("FAILURE", node["integrity"]!["status"]!.GetValue<string>());
        Assert.Equal("MISSING_LOST", node["integrity"]!["details"]![0]!["status"]!.GetValue<string>());
        Assert.Equal(1, node["integrity"]!["details"]![0]!["timeline_id"]!.GetValue<int>());
        Assert.Equal(2, node["integrity"]!["details"]![0]!["segments_count"]!.GetValue<int>());
        Assert.Equal("OK", node["timeline"]!["status"]!.GetValue<string>());
        Assert.Equal(2, node["timeline"]!["details"]!["highest_storage_timeline_id"]!.GetValue<int>());
        Assert.Equal(["integrity", "timeline"], node.AsObject().Select(p => p.Key));
    }

    [Fact]
    public async Task Wal_show_reports_gaps_parents_and_dependent_backups()
    {
        var b1 = _archive.AddBackup(1, 2);
        var b2 = _archive.AddBackup(2, 7);
        _archive.AddHistory(2, (1, "0/4800000"));
        _archive.AddWal(1, 1, 6);
        _archive.AddWal(2, 4, 5);
        _archive.AddWal(2, 8, 9);

        var timelines = await _archive.Get<WalTimelineReporter>().ReportAsync(cancellationToken: Token);

        var one = timelines[0];
        var two = timelines[1];
        Assert.Equal((1u, 0u, "OK", 6, 6UL), (one.Id, one.ParentId, one.Status, one.SegmentsCount, one.SegmentRangeSize));
        Assert.Equal([b1], one.Backups!.Select(b => b.BackupName));
        Assert.Equal((2u, 1u, 0x4800000UL, "LOST_SEGMENTS"), (two.Id, two.ParentId, two.SwitchPointLsn, two.Status));
        Assert.Equal(["000000020000000000000006", "000000020000000000000007"], two.MissingSegments);
        Assert.Equal([b1, b2], two.Backups!.Select(b => b.BackupName));

        var json = JsonNode.Parse(JsonSerializer.Serialize(timelines, VerificationJsonContext.Default.ListTimelineInfo))!;
        Assert.Equal("000000020000000000000009", json[1]!["end_segment"]!.GetValue<string>());
        Assert.Equal(b2, json[1]!["backups"]![1]!["backup_name"]!.GetValue<string>());
        Assert.True(json[1]!["backups"]![1]!.AsObject().ContainsKey("is_permanent"));
    }

    [Fact]
    public void History_file_parses_and_places_segments_on_timelines()
    {
        var history = TimelineHistory.Parse(3, "1\t0/4800000\tno recovery target specified\n\n# comment\n2\t0/9000000\tbefore 2026-01-01\n");

        Assert.Equal((2u, new Lsn(0x9000000)), (history.Parent, history.SwitchLsn));
        Assert.Equal(1u, history.TimelineOfSegment(3, SegmentSize));
        Assert.Equal(2u, history.TimelineOfSegment(4, SegmentSize));
        Assert.Equal(2u, history.TimelineOfSegment(8, SegmentSize));
        Assert.Equal(3u, history.TimelineOfSegment(9, SegmentSize));
        Assert.True(history.Contains(1, new Lsn(0x47FFFFF)));
        Assert.False(history.Contains(1, new Lsn(0x4800000)));
        Assert.Throws<FormatException>(() => TimelineHistory.Parse(2, "one\tzero"));
    }

    [Fact]
    public void Files_metadata_carries_checksums_and_corrupt_blocks_in_WalG_shape()
    {
        var files = new FilesMetadata();
        files.Files["/base/5/16384"] = new BackupFileDescription { XxHash128 = "00ff", CorruptBlocks = CorruptBlocksInfo.From([3, 1, 2, 4, 5, 6, 7, 8, 9, 10, 11, 12], listAll: false) };
        files.Files["/base/5/16385"] = new BackupFileDescription();

        var node = JsonNode.Parse(JsonSerializer.Serialize(files, PgArchiveJsonContext.Default.FilesMetadata))!;

        Assert.Equal("00ff", node["Files"]!["/base/5/16384"]!["XxHash128"]!.GetValue<string>());
        Assert.Equal(12, node["Files"]!["/base/5/16384"]!["CorruptBlocks"]!["CorruptBlocksCount"]!.GetValue<int>());
        Assert.Equal([1u, 2, 3, 4, 5, 6, 7, 8, 9, 10], node["Files"]!["/base/5/16384"]!["CorruptBlocks"]!["SomeCorruptBlocks"]!.AsArray().Select(n => n!.GetValue<uint>()));
        Assert.False(node["Files"]!["/base/5/16385"]!.AsObject().ContainsKey("CorruptBlocks"));
        Assert.False(node["Files"]!["/base/5/16385"]!.AsObject().ContainsKey("XxHash128"));
    }

    [Fact]
    public async Task Backup_mark_rewrites_only_metadata_and_backup_list_detail_shows_it()
    {
        var name = _archive.AddBackup(1, 2);
        var sentinelBefore = _archive.Store.GetBytes("basebackups_005/" + name + "_backup_stop_sentinel.json");
        var catalog = _archive.Get<BackupCatalog>();

        Assert.Equal([name], await catalog.MarkAsync(name, permanent: true, Token));
        Assert.Empty(await catalog.MarkAsync(name, permanent: true, Token));
        var detail = Assert.Single((await catalog.ListDetailedAsync(Token)).Backups);

        Assert.True(detail.IsPermanent);
        Assert.False(detail.Sentinel.IsPermanent);
        Assert.Equal(sentinelBefore, _archive.Store.GetBytes("basebackups_005/" + name + "_backup_stop_sentinel.json"));
        var entry = JsonNode.Parse(JsonSerializer.Serialize(new List<BackupDetailEntry> { detail.ToEntry() }, PgArchiveJsonContext.Default.ListBackupDetailEntry))![0]!.AsObject();
        Assert.Equal(
            ["backup_name", "time", "wal_file_name", "storage_name", "start_time", "finish_time", "date_fmt", "hostname", "data_dir", "pg_version",
             "start_lsn", "finish_lsn", "is_permanent", "system_identifier", "uncompressed_size", "compressed_size"],
            entry.Select(p => p.Key));
        Assert.Equal(0x2000028UL, entry["start_lsn"]!.GetValue<ulong>());
        Assert.True(entry["is_permanent"]!.GetValue<bool>());

        Assert.Equal([name], await catalog.MarkAsync(name, permanent: false, Token));
        Assert.False(Assert.Single((await catalog.ListDetailedAsync(Token)).Backups).IsPermanent);
    }

    [Fact]
    public async Task Marking_a_delta_permanent_marks_its_base_and_the_base_cannot_be_unmarked_first()
    {
        var full = _archive.AddBackup(1, 2);
        var delta = _archive.AddBackup(1, 4, deltaFrom: full);
        var catalog = _archive.Get<BackupCatalog>();

        Assert.Equal([full, delta], await catalog.MarkAsync(delta, permanent: true, Token));
        var refused = await Assert.ThrowsAsync<PgArchiveException>(() => catalog.MarkAsync(full, permanent: false, Token));
        Assert.Contains(delta, refused.Message, StringComparison.Ordinal);
    }
}
