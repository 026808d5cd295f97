using System.Text.Json.Nodes;
using PgArchive.Retention;
using PgArchive.Storage;
using PgArchive.Verification;
using static PgArchive.Retention.SyntheticArchive;

namespace PgArchive.Backups;

/// <summary>
/// Sentinels and metadata someone damaged or forged: every defect is a <see cref="PgArchiveException"/> naming the object
/// and the field, and one damaged backup does not stop retention, wal-show or backup-mark for the others.
/// </summary>
public sealed class DamagedMetadataTests : IDisposable
{
    private readonly SyntheticArchive _archive = new();
    private readonly string _b1;
    private readonly string _b2;
    private readonly string _b3;
    private readonly string _b4;

    public DamagedMetadataTests()
    {
        _b1 = _archive.AddBackup(1, 2);
        _b2 = _archive.AddBackup(1, 5);
        _b3 = _archive.AddBackup(1, 7);
        _b4 = _archive.AddBackup(1, 9);
        _archive.AddWal(1, 1, 10);
    }

    public void Dispose() => _archive.Dispose();

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private BackupCatalog Catalog => _archive.Get<BackupCatalog>();

    /// <summary>Rewrites a stored JSON object through <paramref name="change"/>.</summary>
    private void Edit(string key, Action<JsonObject> change)
    {
        var node = JsonNode.Parse(_archive.Store.GetBytes(key))!.AsObject();
        change(node);
        _archive.Put(key, node.ToJsonString());
    }

    public static TheoryData<string, string> DamagedSentinels => new()
    {
        { """{"Spec": {"base_prefix": "/pgdata", "tablespaces": ["16390"], "16390": {"link": "pg_tblspc/16390"}}}""", "field Spec: Spec.16390.loc" },
        { """{"Spec": {"base_prefix": "/pgdata", "tablespaces": ["16390"], "16390": {"loc": "/ts/"}}}""", "field Spec: Spec.16390.link" },
        { """{"Spec": {"base_prefix": "/pgdata", "tablespaces": ["16390"], "16390": "/ts/"}}""", "field Spec: Spec.16390" },
        { """{"Spec": {"base_prefix": "/pgdata", "tablespaces": [16390]}}""", "field Spec: Spec.tablespaces" },
        { """{"LSN": "0/5000028"}""", "field LSN" },
        { """{"FinishLSN": null}""", "field FinishLSN" },
        { """{"DeltaFrom": "../../../etc"}""", "field DeltaFrom: '../../../etc' is not a backup name" },
        { """{"DeltaFrom": 5}""", "field DeltaFrom" },
        { """{"DeltaFullName": "base_x"}""", "field DeltaFullName: 'base_x' is not a backup name" },
        { """{"Hostname": null}""", "field Hostname" },
        { """{"StartTime": "yesterday"}""", "field StartTime" },
    };

    [Theory]
    [MemberData(nameof(DamagedSentinels))]
    public async Task A_damaged_sentinel_is_named_with_its_field(string fields, string expected)
    {
        Edit(ArchiveLayout.SentinelKey(_b2), node =>
        {
            foreach (var (name, value) in JsonNode.Parse(fields)!.AsObject())
            {
                node[name] = value?.DeepClone();
            }
        });

        var ex = await Assert.ThrowsAsync<ObjectCorruptException>(() => Catalog.ReadSentinelAsync(_b2, Token));

        Assert.Contains($"'{ArchiveLayout.SentinelKey(_b2)}' is damaged: {expected}", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("null", "it holds JSON null")]
    [InlineData("{\"LSN\": 1", "it is not valid JSON")]
    [InlineData("[]", "it is not valid JSON")]
    public async Task A_sentinel_that_is_not_an_object_is_named(string content, string expected)
    {
        _archive.Put(ArchiveLayout.SentinelKey(_b2), content);

        var ex = await Assert.ThrowsAsync<ObjectCorruptException>(() => Catalog.ReadSentinelAsync(_b2, Token));

        Assert.Contains($"'{ArchiveLayout.SentinelKey(_b2)}' is damaged: {expected}", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"Files": null}""", "field Files")]
    [InlineData("""{"Files": {"/base/5/1": null}}""", "field Files['/base/5/1']")]
    [InlineData("""{"TarFileSets": {"part_001.tar.lz4": null}}""", "field TarFileSets['part_001.tar.lz4']")]
    [InlineData("""{"TarFileSets": {"part_001.tar.lz4": ["/a", null]}}""", "field TarFileSets['part_001.tar.lz4']")]
    [InlineData("""{"TarChecksums": {"part_001.tar.lz4": {"Size": 1}}}""", "field TarChecksums")]
    public async Task A_damaged_files_metadata_is_named_with_its_field(string content, string expected)
    {
        _archive.Put(ArchiveLayout.FilesMetadataKey(_b2), content);

        var ex = await Assert.ThrowsAsync<ObjectCorruptException>(() => Catalog.ReadFilesMetadataAsync(_b2, Token));

        Assert.Contains($"'{ArchiveLayout.FilesMetadataKey(_b2)}' is damaged: {expected}", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Backup_verify_names_a_null_file_list()
    {
        _archive.Put(ArchiveLayout.FilesMetadataKey(_b2), """{"Files": null, "TarFileSets": {}}""");

        var ex = await Assert.ThrowsAsync<ObjectCorruptException>(() => _archive.Get<BackupVerifier>().VerifyAsync(_b2, Token));

        Assert.Contains("files_metadata.json' is damaged: field Files", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Retention_keeps_an_unreadable_backup_with_its_WAL_and_carries_on(bool sentinel)
    {
        _archive.Put(sentinel ? ArchiveLayout.SentinelKey(_b2) : ArchiveLayout.MetadataKey(_b2), "{\"LSN\": ");
        var planner = _archive.Get<RetentionPlanner>();

        var plan = await planner.PlanAsync(RetentionRequest.Retain(2), Token);
        await planner.ExecuteAsync(plan, Token);

        Assert.Equal([_b1], plan.BackupsToDelete);
        Assert.Equal([_b2, _b3, _b4], _archive.Backups());
        Assert.Contains(_archive.Store.Keys, k => k.StartsWith(ArchiveLayout.BackupPrefix(_b2), StringComparison.Ordinal));
        Assert.Equal(Segments(1, 5, 10), _archive.Wal(1)); // from the unreadable backup's start segment on
        Assert.Contains("cannot be read", plan.Backups.Single(b => b.Name == _b2).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Garbage_never_takes_an_unreadable_backup_for_leftovers()
    {
        _archive.Put(ArchiveLayout.SentinelKey(_b1), "not json");
        var planner = _archive.Get<RetentionPlanner>();

        var plan = await planner.PlanAsync(RetentionRequest.Garbage(), Token);
        await planner.ExecuteAsync(plan, Token);

        Assert.Equal([_b1, _b2, _b3, _b4], _archive.Backups());
        Assert.Contains(_archive.Store.Keys, k => k.StartsWith(ArchiveLayout.BackupPrefix(_b1), StringComparison.Ordinal));
        Assert.Equal(Segments(1, 2, 10), _archive.Wal(1));
    }

    [Fact]
    public async Task A_delta_that_cannot_be_read_keeps_the_backups_its_name_says_it_is_built_on()
    {
        var delta = _archive.AddBackup(1, 10, deltaFrom: _b1);
        _archive.Put(ArchiveLayout.SentinelKey(delta), "{");
        var planner = _archive.Get<RetentionPlanner>();

        var plan = await planner.PlanAsync(RetentionRequest.Retain(1), Token);

        Assert.Equal([_b2, _b3], plan.BackupsToDelete);
        Assert.Contains("may be built on it", plan.Backups.Single(b => b.Name == _b1).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Delete_everything_needs_FORCE_to_delete_an_unreadable_backup()
    {
        _archive.Put(ArchiveLayout.SentinelKey(_b3), "[1, 2");
        var planner = _archive.Get<RetentionPlanner>();

        var refused = await Assert.ThrowsAsync<RetentionRefusedException>(() => planner.PlanAsync(RetentionRequest.Everything(), Token));
        await planner.ExecuteAsync(await planner.PlanAsync(RetentionRequest.Everything(force: true), Token), Token);

        Assert.Contains($"{_b3} cannot be read", refused.Message, StringComparison.Ordinal);
        Assert.Empty(_archive.Store.Keys);
    }

    [Fact]
    public async Task Wal_show_and_backup_mark_carry_on_past_an_unreadable_backup()
    {
        _archive.Put(ArchiveLayout.MetadataKey(_b2), "{\"is_permanent\": \"yes\"}");

        var timelines = await _archive.Get<WalTimelineReporter>().ReportAsync(cancellationToken: Token);
        var marked = await Catalog.MarkAsync(_b3, permanent: true, Token);
        var unmarked = await Catalog.MarkAsync(_b3, permanent: false, Token);
        var own = await Assert.ThrowsAsync<ObjectCorruptException>(() => Catalog.MarkAsync(_b2, permanent: true, Token));

        Assert.Equal([_b1, _b3, _b4], timelines.Single().Backups!.Select(b => b.BackupName));
        Assert.Equal([_b3], marked);
        Assert.Equal([_b3], unmarked);
        Assert.Contains($"'{ArchiveLayout.MetadataKey(_b2)}' is damaged: field is_permanent", own.Message, StringComparison.Ordinal);
    }
}
