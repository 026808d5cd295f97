using System.Text.Json;
using PgArchive.Backups.Delta;
using PgArchive.PostgresTypes;
using PgArchive.Retention;
using PgArchive.Storage;

namespace PgArchive.Backups;

public sealed class DeltaBaseTests : IDisposable
{
    private const ulong SystemId = 7_300_000_000_000_000_001;
    private readonly SyntheticArchive _archive = new();
    private readonly string _pgdata = Directory.CreateTempSubdirectory("pgarchive-deltabase-").FullName;

    public void Dispose()
    {
        _archive.Dispose();
        Directory.Delete(_pgdata, recursive: true);
    }

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private BackupCatalog Catalog => _archive.Get<BackupCatalog>();

    /// <summary>
    /// Stores a backup as backup-push writes it; a delta takes its chain fields from <paramref name="from"/>, its
    /// position from <paramref name="count"/> when given (WAL-G's LATEST_FULL deltas count the chain, not their base).
    /// </summary>
    private string Add(string walFile, ulong lsn, string? from = null, int? count = null, bool permanent = false, bool metadata = true)
    {
        var parent = from is null ? null : Catalog.ReadSentinelAsync(from, Token).GetAwaiter().GetResult();
        var name = from is null ? "base_" + walFile : BackupName.ForDelta("base_" + walFile, from.Substring(5, 24));
        var sentinel = new BackupSentinel
        {
            Lsn = lsn, FinishLsn = lsn + 0x100, PgVersion = 150010, SystemIdentifier = SystemId,
            DeltaFrom = from, DeltaLsn = parent?.Lsn, DeltaCount = parent is null ? null : count ?? (parent.DeltaCount ?? 0) + 1,
            DeltaFullName = parent is null ? null : parent.DeltaFullName ?? from, IsPermanent = permanent,
        };
        _archive.Put(ArchiveLayout.FilesMetadataKey(name), """{"Files":{"/base/5/16384":{"IsIncremented":false,"IsSkipped":false,"MTime":"2026-01-01T00:00:00Z","UpdatesCount":0}},"TarFileSets":{}}""");
        if (metadata)
        {
            _archive.Put(ArchiveLayout.MetadataKey(name), JsonSerializer.Serialize(BackupDetail.MetadataFrom(sentinel), PgArchiveJsonContext.Default.BackupMetadata));
        }

        _archive.Put(ArchiveLayout.SentinelKey(name), JsonSerializer.Serialize(sentinel, PgArchiveJsonContext.Default.BackupSentinel));
        Thread.Sleep(5); // LATEST is the newest sentinel by modification time
        return name;
    }

    private Task<DeltaBase?> Select(int maxSteps, string origin = "LATEST", bool full = false, string? from = null, bool permanent = false) =>
        DeltaBase.SelectAsync(Catalog, new PgArchiveOptions { DeltaMaxSteps = maxSteps, DeltaOrigin = origin },
            new BackupPushRequest { DataDirectory = _pgdata, Full = full, DeltaFromName = from, Permanent = permanent }, Token);

    [Fact]
    public async Task Chains_grow_on_the_latest_backup_up_to_the_maximum_then_restart_full()
    {
        Assert.Null(await Select(2)); // no backup yet: full
        var full = Add("000000010000000000000004", 0x4000028);
        Assert.Null(await Select(0));
        Assert.Null(await Select(2, full: true));

        var first = await Select(2);
        Assert.Equal((full, 1, full, 0x4000028UL), (first!.Name, first.Count, first.FullName, first.Lsn));
        Assert.NotNull(first.Files);
        var d1 = Add("000000010000000000000006", 0x6000028, full);
        var second = await Select(2);
        Assert.Equal((d1, 2, full), (second!.Name, second.Count, second.FullName));
        Add("000000010000000000000008", 0x8000028, d1);
        Assert.Null(await Select(2)); // the chain has 2 deltas: the next backup is full
    }

    [Fact]
    public async Task Latest_full_origin_and_an_explicit_name_pick_their_base()
    {
        var full = Add("000000010000000000000004", 0x4000028);
        var d1 = Add("000000010000000000000006", 0x6000028, full);

        var onFull = await Select(5, "LATEST_FULL");
        var named = await Select(0, from: d1);

        Assert.Equal((full, 2, full), (onFull!.Name, onFull.Count, onFull.FullName)); // WAL-G counts from the latest backup
        Assert.Equal((d1, 2, full), (named!.Name, named.Count, named.FullName));
        await Assert.ThrowsAsync<PgArchiveConfigurationException>(() => Select(1, "OLDEST"));
        await Assert.ThrowsAsync<BackupNotFoundException>(() => Select(1, from: "base_000000010000000000000099"));
    }

    [Fact]
    public async Task Latest_full_origin_counts_the_deltas_since_the_full_so_max_steps_starts_a_new_full()
    {
        // WAL-G (delta_backup_configurator.go): the count is the latest backup's DeltaCount + 1, checked against
        // WALG_DELTA_MAX_STEPS before the base is switched to the latest's full backup.
        var full = Add("000000010000000000000004", 0x4000028);
        var first = await Select(2, "LATEST_FULL");
        Assert.Equal((full, 1), (first!.Name, first.Count));
        Add("000000010000000000000006", 0x6000028, full, count: first.Count);
        var second = await Select(2, "LATEST_FULL");
        Assert.Equal((full, 2, full), (second!.Name, second.Count, second.FullName));
        Add("000000010000000000000008", 0x8000028, full, count: second.Count);

        Assert.Null(await Select(2, "LATEST_FULL")); // two deltas on the full: the next backup is full
        Assert.Equal(3, (await Select(3, "LATEST_FULL"))!.Count);
    }

    [Fact]
    public async Task A_delta_is_built_on_a_permanent_backup_only_when_permanent_itself_or_from_the_latest_full()
    {
        // WAL-G: "Can't do a delta backup from permanent backup" unless the new backup is permanent or WALG_DELTA_ORIGIN=LATEST_FULL.
        var full = Add("000000010000000000000004", 0x4000028, permanent: true);

        Assert.Null(await Select(3));
        Assert.Null(await Select(3, from: full));
        Assert.Equal(full, (await Select(3, permanent: true))!.Name);
        Assert.Equal(full, (await Select(3, "LATEST_FULL"))!.Name);
    }

    [Fact]
    public async Task The_permanent_flag_comes_from_metadata_json_and_a_base_without_it_gets_a_full_backup()
    {
        var full = Add("000000010000000000000004", 0x4000028);
        await Catalog.MarkAsync(full, permanent: true, Token); // backup-mark rewrites metadata.json only
        Assert.Null(await Select(3));

        Add("000000010000000000000006", 0x6000028, metadata: false);
        Assert.Null(await Select(3)); // WAL-G: "Failed to get previous backup metadata ... Doing full backup."
    }

    [Fact]
    public async Task A_base_from_another_cluster_or_an_unrelated_timeline_is_refused()
    {
        Add("000000010000000000000004", 0x4000028);
        var chosen = (await Select(1))!;

        var otherCluster = Assert.Throws<PgArchiveException>(() => chosen.CheckCluster(SystemId + 1, 8192));
        Assert.Contains("another cluster", otherCluster.Message, StringComparison.Ordinal);
        chosen.CheckCluster(SystemId, 8192);

        chosen.CheckHistory(_pgdata, 1, new Lsn(0x5000000)); // same timeline, later start
        Assert.Throws<PgArchiveException>(() => chosen.CheckHistory(_pgdata, 1, new Lsn(0x3000000))); // base starts after us
        Assert.Throws<PgArchiveException>(() => chosen.CheckHistory(_pgdata, 2, new Lsn(0x9000000))); // no history file
        Directory.CreateDirectory(Path.Combine(_pgdata, "pg_wal"));
        await File.WriteAllTextAsync(Path.Combine(_pgdata, "pg_wal", "00000002.history"), "1\t0/5000000\tno recovery target specified\n", Token);
        chosen.CheckHistory(_pgdata, 2, new Lsn(0x9000000)); // timeline 2 left timeline 1 after the base started
        await File.WriteAllTextAsync(Path.Combine(_pgdata, "pg_wal", "00000002.history"), "1\t0/3000000\tno recovery target specified\n", Token);
        var forked = Assert.Throws<PgArchiveException>(() => chosen.CheckHistory(_pgdata, 2, new Lsn(0x9000000)));
        Assert.Contains("was left at 0/3000000", forked.Message, StringComparison.Ordinal);
    }
}
