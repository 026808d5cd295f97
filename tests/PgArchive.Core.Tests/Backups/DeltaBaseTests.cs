using System.Text.Json;
using PgArchive.Backups.Delta;
using PgArchive.Retention;
using PgArchive.Storage;
using PgArchive.Wal;

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

    /// <summary>Stores a backup as backup-push writes it; a delta takes its chain fields from <paramref name="from"/>.</summary>
    private string Add(string walFile, ulong lsn, string? from = null)
    {
        var parent = from is null ? null : Catalog.ReadSentinelAsync(from, Token).GetAwaiter().GetResult();
        var name = from is null ? "base_" + walFile : BackupName.ForDelta("base_" + walFile, from.Substring(5, 24));
        var sentinel = new BackupSentinel
        {
            Lsn = lsn, FinishLsn = lsn + 0x100, PgVersion = 150010, SystemIdentifier = SystemId,
            DeltaFrom = from, DeltaLsn = parent?.Lsn, DeltaCount = parent is null ? null : (parent.DeltaCount ?? 0) + 1,
            DeltaFullName = parent is null ? null : parent.DeltaFullName ?? from,
        };
        _archive.Put(ArchiveLayout.FilesMetadataKey(name), """{"Files":{"/base/5/16384":{"IsIncremented":false,"IsSkipped":false,"MTime":"2026-01-01T00:00:00Z","UpdatesCount":0}},"TarFileSets":{}}""");
        _archive.Put(ArchiveLayout.SentinelKey(name), JsonSerializer.Serialize(sentinel, PgArchiveJsonContext.Default.BackupSentinel));
        Thread.Sleep(5); // LATEST is the newest sentinel by modification time
        return name;
    }

    private Task<DeltaBase?> Select(int maxSteps, string origin = "LATEST", bool full = false, string? from = null) =>
        DeltaBase.SelectAsync(Catalog, new PgArchiveOptions { DeltaMaxSteps = maxSteps, DeltaOrigin = origin },
            new BackupPushRequest { DataDirectory = _pgdata, Full = full, DeltaFromName = from }, Token);

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

        Assert.Equal((full, 1), (onFull!.Name, onFull.Count));
        Assert.Equal((d1, 2, full), (named!.Name, named.Count, named.FullName));
        await Assert.ThrowsAsync<PgArchiveConfigurationException>(() => Select(1, "OLDEST"));
        await Assert.ThrowsAsync<BackupNotFoundException>(() => Select(1, from: "base_000000010000000000000099"));
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
