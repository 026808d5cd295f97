using PgArchive.Backups;
using PgArchive.Storage;
using static PgArchive.Retention.SyntheticArchive;

namespace PgArchive.Retention;

/// <summary>
/// The scenario of the end-to-end test, synthetic: B1 and B2 on timeline 1, a PITR from B1 promoted to timeline 2
/// at 0/4800000 (inside segment 4, before B2 started), then B3 and B4 on timeline 2.
/// </summary>
public sealed class RetentionPlannerTests : IDisposable
{
    private readonly SyntheticArchive _archive = new();
    private readonly RetentionPlanner _planner;
    private readonly string _b1;
    private readonly string _b2;
    private readonly string _b3;
    private readonly string _b4;

    public RetentionPlannerTests()
    {
        _planner = _archive.Get<RetentionPlanner>();
        _b1 = _archive.AddBackup(1, 2);
        _b2 = _archive.AddBackup(1, 5);
        _archive.AddHistory(2, (1, "0/4800000"));
        _b3 = _archive.AddBackup(2, 7);
        _b4 = _archive.AddBackup(2, 9);
        _archive.AddWal(1, 1, 8);
        _archive.AddWal(2, 4, 10);
        _archive.Put("wal_005/000000010000000000000002.00000028.backup.lz4", "label");
        _archive.Put("wal_005/000000010000000000000004.partial.lz4", "partial");
    }

    public void Dispose() => _archive.Dispose();

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private async Task<RetentionPlan> ExecuteAsync(RetentionRequest request)
    {
        var plan = await _planner.PlanAsync(request, Token);
        await _planner.ExecuteAsync(plan, Token);
        return plan;
    }

    [Fact]
    public async Task Retain_2_keeps_the_two_newest_and_only_the_WAL_they_need()
    {
        var plan = await ExecuteAsync(RetentionRequest.Retain(2));

        Assert.Equal([_b1, _b2], plan.BackupsToDelete);
        Assert.Equal(_b3, plan.Target);
        Assert.Equal([_b3, _b4], _archive.Backups());
        Assert.Empty(_archive.Wal(1));
        Assert.Equal(Segments(2, 7, 10), _archive.Wal(2));
        Assert.Contains("wal_005/00000002.history", _archive.Store.Keys);
        Assert.DoesNotContain(_archive.Store.Keys, k => k.StartsWith($"basebackups_005/{_b1}", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Retain_deletes_the_block_maps_of_the_segments_it_deletes_and_orphans_but_keeps_the_rest()
    {
        _archive.Put("wal_blockmaps_005/000000010000000000000003.blockmap.lz4", "map of a deleted segment");
        _archive.Put("wal_blockmaps_005/000000020000000000000008.blockmap.lz4", "map of a kept segment");
        _archive.Put("wal_blockmaps_005/000000020000000000000063.blockmap.lz4", "orphan: no such segment");
        _archive.Put("wal_blockmaps_005/README", "not a map: left alone");

        var plan = await ExecuteAsync(RetentionRequest.Retain(2));

        Assert.Equal(Segments(2, 7, 10), _archive.Wal(2));
        Assert.Equal(["wal_blockmaps_005/000000020000000000000008.blockmap.lz4", "wal_blockmaps_005/README"],
            _archive.Store.Keys.Where(k => k.StartsWith("wal_blockmaps_005/", StringComparison.Ordinal)).Order(StringComparer.Ordinal));
        Assert.DoesNotContain(plan.ObjectsToDelete, o => o.Key == "wal_blockmaps_005/README");
    }

    [Fact]
    public async Task Everything_deletes_the_block_maps_too()
    {
        _archive.Put("wal_blockmaps_005/000000020000000000000008.blockmap.lz4", "map");

        await ExecuteAsync(RetentionRequest.Everything(force: false));

        Assert.DoesNotContain(_archive.Store.Keys, k => k.StartsWith("wal_blockmaps_005/0", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Retain_3_keeps_WAL_of_the_abandoned_timeline_after_the_backup_taken_on_it()
    {
        var plan = await ExecuteAsync(RetentionRequest.Retain(3));

        Assert.Equal([_b1], plan.BackupsToDelete);
        Assert.Equal([_b2, _b3, _b4], _archive.Backups());
        Assert.Equal(Segments(1, 5, 8), _archive.Wal(1)); // B2's timeline from its start on; .partial of segment 4 goes
        Assert.Equal(Segments(2, 7, 10), _archive.Wal(2)); // timeline 2 left timeline 1 before B2 began: B2 does not need it
        Assert.DoesNotContain("wal_005/000000010000000000000004.partial.lz4", _archive.Store.Keys);
    }

    [Fact]
    public async Task A_plan_lists_sentinels_first_and_changes_nothing_until_executed()
    {
        var before = _archive.Store.Keys;
        var plan = await _planner.PlanAsync(RetentionRequest.Retain(2), Token);

        Assert.Equal(before, _archive.Store.Keys);
        Assert.EndsWith("_backup_stop_sentinel.json", plan.ObjectsToDelete[0].Key, StringComparison.Ordinal);
        Assert.EndsWith("_backup_stop_sentinel.json", plan.ObjectsToDelete[1].Key, StringComparison.Ordinal);
        Assert.Equal(before.Count - plan.ObjectsToDelete.Count, before.Except(plan.ObjectsToDelete.Select(o => o.Key)).Count());
        Assert.Equal("older than " + _b3, plan.Backups[0].Reason);
        Assert.Equal("one of the newest 2 backups", plan.Backups[3].Reason);
        var timeline2 = Assert.Single(plan.Wal, w => w.Timeline == 2);
        Assert.Equal((4, 3, Segment(2, 7), Segment(2, 10)), (timeline2.KeptSegments, timeline2.DeletedSegments, timeline2.FirstKept, timeline2.LastKept));
    }

    [Fact]
    public async Task A_permanent_backup_stays_with_the_WAL_that_makes_it_consistent()
    {
        await _archive.Get<BackupCatalog>().MarkAsync(_b1, permanent: true, Token);

        var plan = await ExecuteAsync(RetentionRequest.Retain(2));

        Assert.Equal([_b2], plan.BackupsToDelete);
        Assert.Equal("permanent", plan.Backups.Single(b => b.Name == _b1).Reason);
        Assert.Equal([_b1, _b3, _b4], _archive.Backups());
        Assert.Equal([Segment(1, 2)], _archive.Wal(1));
        Assert.Contains("wal_005/000000010000000000000002.00000028.backup.lz4", _archive.Store.Keys);
        Assert.Equal(Segments(2, 7, 10), _archive.Wal(2));
    }

    [Fact]
    public async Task Permanent_backup_spanning_segments_keeps_start_to_finish()
    {
        using var archive = new SyntheticArchive();
        var old = archive.AddBackup(1, 3, permanent: true, finishSegmentsLater: 2);
        archive.AddBackup(1, 10);
        archive.AddWal(1, 1, 12);

        var planner = archive.Get<RetentionPlanner>();
        await planner.ExecuteAsync(await planner.PlanAsync(RetentionRequest.Retain(1), Token), Token);

        Assert.Contains(old, archive.Backups());
        Assert.Equal([.. Segments(1, 3, 5), .. Segments(1, 10, 12)], archive.Wal(1));
    }

    [Fact]
    public async Task Before_a_name_deletes_what_is_older()
    {
        var plan = await ExecuteAsync(RetentionRequest.BeforeBackup(_b3));

        Assert.Equal([_b1, _b2], plan.BackupsToDelete);
        Assert.Equal([_b3, _b4], _archive.Backups());
        Assert.Equal(Segments(2, 7, 10), _archive.Wal(2));
    }

    [Fact]
    public async Task Before_a_time_keeps_backups_finished_at_or_after_it()
    {
        var plan = await _planner.PlanAsync(RetentionRequest.BeforeTimestamp(DateTimeOffset.UtcNow.AddDays(1)), Token);
        Assert.Empty(plan.ObjectsToDelete);
        Assert.Contains(plan.Notes, n => n.Contains("No backup was taken at or after", StringComparison.Ordinal));

        var atB3Start = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero).AddHours(2007);
        var byStart = await _planner.PlanAsync(RetentionRequest.BeforeTimestamp(atB3Start).UsingSentinelTime(), Token);
        Assert.Equal([_b1, _b2], byStart.BackupsToDelete);
    }

    [Fact]
    public async Task Unknown_backup_name_is_refused()
    {
        await Assert.ThrowsAsync<BackupNotFoundException>(() => _planner.PlanAsync(RetentionRequest.BeforeBackup("base_000000010000000000000077"), Token));
        await Assert.ThrowsAsync<BackupNotFoundException>(() => _planner.PlanAsync(RetentionRequest.Target("base_000000010000000000000077"), Token));
    }

    [Fact]
    public async Task Retain_more_than_there_are_deletes_nothing()
    {
        var plan = await _planner.PlanAsync(RetentionRequest.Retain(10), Token);
        Assert.Empty(plan.ObjectsToDelete);
        Assert.Empty(plan.BackupsToDelete);
    }

    [Fact]
    public async Task Target_deletes_one_backup_and_only_WAL_nothing_else_needs()
    {
        var plan = await ExecuteAsync(RetentionRequest.Target(_b2));

        Assert.Equal([_b2], plan.BackupsToDelete);
        Assert.Equal([_b1, _b3, _b4], _archive.Backups());
        Assert.Equal(Segments(1, 2, 8), _archive.Wal(1)); // B1 keeps all of timeline 1 from its start for PITR
        Assert.Equal(Segments(2, 4, 10), _archive.Wal(2)); // and timeline 2, which branched after B1's start
    }

    [Fact]
    public async Task Target_of_a_permanent_backup_is_refused()
    {
        await _archive.Get<BackupCatalog>().MarkAsync(_b4, permanent: true, Token);
        var refused = await Assert.ThrowsAsync<RetentionRefusedException>(() => _planner.PlanAsync(RetentionRequest.Target(_b4), Token));
        Assert.Contains("backup-mark " + _b4 + " --impermanent", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Everything_refuses_permanent_backups_unless_forced()
    {
        await _archive.Get<BackupCatalog>().MarkAsync(_b2, permanent: true, Token);
        await Assert.ThrowsAsync<RetentionRefusedException>(() => _planner.PlanAsync(RetentionRequest.Everything(), Token));

        _archive.Put("basebackups_005/base_000000020000000000000011/tar_partitions/part_001.tar.lz4", "unfinished");
        await ExecuteAsync(RetentionRequest.Everything(force: true));

        Assert.Empty(_archive.Store.Keys);
    }

    [Fact]
    public async Task Garbage_removes_unfinished_backups_older_than_the_oldest_and_unneeded_WAL()
    {
        _archive.Put("basebackups_005/base_000000010000000000000001/tar_partitions/part_001.tar.lz4", "unfinished, old");
        _archive.Put("basebackups_005/base_000000020000000000000008/tar_partitions/part_001.tar.lz4", "unfinished, maybe running");
        _archive.Time.Advance(TimeSpan.FromMinutes(11));

        var plan = await ExecuteAsync(RetentionRequest.Garbage());

        Assert.Empty(plan.BackupsToDelete);
        Assert.DoesNotContain("basebackups_005/base_000000010000000000000001/tar_partitions/part_001.tar.lz4", _archive.Store.Keys);
        Assert.Contains("basebackups_005/base_000000020000000000000008/tar_partitions/part_001.tar.lz4", _archive.Store.Keys);
        Assert.Equal(Segments(1, 2, 8), _archive.Wal(1));
    }

    [Theory]
    [InlineData(GarbageScope.Archives, false, true)]
    [InlineData(GarbageScope.Backups, true, false)]
    public async Task Garbage_scope_limits_what_is_looked_at(GarbageScope scope, bool leftoverGoes, bool walGoes)
    {
        const string leftover = "basebackups_005/base_000000010000000000000001/tar_partitions/part_001.tar.lz4";
        _archive.Put(leftover, "unfinished, old");
        _archive.Time.Advance(TimeSpan.FromMinutes(11));

        await ExecuteAsync(RetentionRequest.Garbage(scope));

        Assert.Equal(leftoverGoes, !_archive.Store.Keys.Contains(leftover));
        Assert.Equal(walGoes, !_archive.Wal(1).Contains(Segment(1, 1)));
    }

    [Fact]
    public async Task Garbage_leaves_alone_an_unfinished_backup_written_in_the_last_ten_minutes()
    {
        const string leftover = "basebackups_005/base_000000010000000000000001/tar_partitions/part_001.tar.lz4";
        _archive.Put(leftover, "unfinished, written a moment ago: a backup-push elsewhere may still be writing it");
        _archive.Time.Advance(TimeSpan.FromMinutes(9));

        var plan = await ExecuteAsync(RetentionRequest.Garbage());

        Assert.Contains(leftover, _archive.Store.Keys);
        Assert.Contains(plan.Notes, n => n.Contains("base_000000010000000000000001", StringComparison.Ordinal) && n.Contains("left alone", StringComparison.Ordinal));

        _archive.Time.Advance(TimeSpan.FromMinutes(2));
        await ExecuteAsync(RetentionRequest.Garbage());

        Assert.DoesNotContain(leftover, _archive.Store.Keys);
    }

    [Fact]
    public async Task Retain_leaves_alone_an_unfinished_backup_whose_backup_push_still_runs_on_this_host()
    {
        // Older than every kept backup and idle for an hour by the store's clock, but its claim names a process running here.
        const string name = "base_000000010000000000000003";
        _archive.Put(ArchiveLayout.ProgressKey(name), ClaimJson(name, Environment.MachineName, Environment.ProcessId));
        _archive.Put(ArchiveLayout.TarPartitionsPrefix(name) + "part_001.tar.lz4", "being written");
        _archive.Time.Advance(TimeSpan.FromHours(1));

        var plan = await ExecuteAsync(RetentionRequest.Retain(2));

        Assert.Contains(ArchiveLayout.TarPartitionsPrefix(name) + "part_001.tar.lz4", _archive.Store.Keys);
        Assert.Contains(ArchiveLayout.ProgressKey(name), _archive.Store.Keys);
        Assert.Contains(plan.Notes, n => n.Contains($"{name} is unfinished and left alone: it is still being written by a running backup-push (process {Environment.ProcessId}", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Garbage_removes_at_once_an_unfinished_backup_whose_backup_push_has_ended_on_this_host()
    {
        const string name = "base_000000010000000000000001";
        _archive.Put(ArchiveLayout.ProgressKey(name), ClaimJson(name, Environment.MachineName, int.MaxValue)); // no such process
        _archive.Put(ArchiveLayout.TarPartitionsPrefix(name) + "part_001.tar.lz4", "interrupted a moment ago");

        await ExecuteAsync(RetentionRequest.Garbage());

        Assert.DoesNotContain(_archive.Store.Keys, k => k.StartsWith(ArchiveLayout.BackupPrefix(name), StringComparison.Ordinal));
    }

    [Fact]
    public async Task Garbage_leaves_alone_a_recent_claim_of_another_host_until_it_has_been_idle_ten_minutes()
    {
        const string name = "base_000000010000000000000001";
        _archive.Put(ArchiveLayout.ProgressKey(name), ClaimJson(name, "another-host", Environment.ProcessId));
        _archive.Time.Advance(TimeSpan.FromMinutes(5));

        await ExecuteAsync(RetentionRequest.Garbage());
        Assert.Contains(ArchiveLayout.ProgressKey(name), _archive.Store.Keys);

        _archive.Time.Advance(TimeSpan.FromMinutes(6));
        await ExecuteAsync(RetentionRequest.Garbage());
        Assert.DoesNotContain(ArchiveLayout.ProgressKey(name), _archive.Store.Keys);
    }

    /// <summary>A backup-push's claim on <paramref name="name"/> (its progress record), as written by process <paramref name="processId"/> on <paramref name="host"/> just now.</summary>
    private static string ClaimJson(string name, string host, int processId) => $$"""
        {"Version": 1, "BackupName": "{{name}}", "SystemIdentifier": 1, "Timeline": 1, "StartTime": "{{DateTimeOffset.UtcNow:O}}",
         "ClaimId": "0123456789abcdef0123456789abcdef", "Hostname": "{{host}}", "ProcessId": {{processId}}}
        """;

    [Fact]
    public async Task Garbage_with_no_backup_deletes_nothing()
    {
        using var archive = new SyntheticArchive();
        archive.AddWal(1, 1, 5);
        var plan = await archive.Get<RetentionPlanner>().PlanAsync(RetentionRequest.Garbage(), Token);
        Assert.Empty(plan.ObjectsToDelete);
    }

    [Fact]
    public async Task Timeline_without_history_file_is_kept_as_a_possible_descendant()
    {
        _archive.AddWal(3, 9, 12);
        await ExecuteAsync(RetentionRequest.Retain(1));
        Assert.Equal(Segments(3, 9, 12), _archive.Wal(3));
        Assert.Equal(Segments(2, 9, 10), _archive.Wal(2));
    }

    [Fact]
    public async Task Deltas_keep_their_bases_and_retain_counts_as_WalG_does()
    {
        var delta = _archive.AddBackup(2, 11, deltaFrom: _b4);
        _archive.AddWal(2, 11, 12);

        await Assert.ThrowsAsync<RetentionRefusedException>(() => _planner.PlanAsync(RetentionRequest.Retain(1), Token));
        var findFull = await _planner.PlanAsync(RetentionRequest.Retain(1, RetainModifier.FindFull), Token);
        var full = await _planner.PlanAsync(RetentionRequest.Retain(1, RetainModifier.Full), Token);
        var target = await _planner.PlanAsync(RetentionRequest.Target(_b4), Token);

        Assert.Equal([_b1, _b2, _b3], findFull.BackupsToDelete);
        Assert.Equal([_b1, _b2, _b3], full.BackupsToDelete);
        Assert.Equal([_b4, delta], target.BackupsToDelete);
    }

    [Fact]
    public async Task Executing_twice_and_concurrently_is_harmless()
    {
        var first = await _planner.PlanAsync(RetentionRequest.Retain(2), Token);
        var second = await _planner.PlanAsync(RetentionRequest.Retain(2), Token);

        await Task.WhenAll(_planner.ExecuteAsync(first, Token), _planner.ExecuteAsync(second, Token));
        await _planner.ExecuteAsync(first, Token);

        Assert.Equal([_b3, _b4], _archive.Backups());
        var again = await _planner.PlanAsync(RetentionRequest.Retain(2), Token);
        Assert.Empty(again.ObjectsToDelete);
    }

    [Fact]
    public async Task Execute_stops_when_a_backup_became_permanent_after_planning()
    {
        var plan = await _planner.PlanAsync(RetentionRequest.Retain(2), Token);
        await _archive.Get<BackupCatalog>().MarkAsync(_b1, permanent: true, Token);
        var keys = _archive.Store.Keys;

        await Assert.ThrowsAsync<RetentionRefusedException>(() => _planner.ExecuteAsync(plan, Token));
        Assert.Equal(keys, _archive.Store.Keys);
    }
}
