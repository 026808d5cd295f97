using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using PgArchive.Backups;
using PgArchive.PostgresTypes;
using PgArchive.Storage;

namespace PgArchive.Retention;

/// <summary>An archive in memory with backups and WAL written the way backup-push and wal-push lay them out (16 MiB segments).</summary>
public sealed class SyntheticArchive : IDisposable
{
    private const long SegmentSize = 16L << 20;
    private readonly ServiceProvider _services;

    public SyntheticArchive()
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(Time);
        services.AddPgArchive().UseInMemory();
        _services = services.BuildServiceProvider();
        Store = _services.GetRequiredService<InMemoryObjectStore>();
    }

    public InMemoryObjectStore Store { get; }

    /// <summary>The clock of the store's modification times and of the services.</summary>
    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero));

    public T Get<T>() where T : notnull => _services.GetRequiredService<T>();

    public void Dispose() => _services.Dispose();

    /// <summary>A full (or delta) backup starting 0x28 bytes into segment <paramref name="segment"/> of <paramref name="timeline"/>.</summary>
    public string AddBackup(uint timeline, ulong segment, bool permanent = false, string? deltaFrom = null, int finishSegmentsLater = 0,
        DateTimeOffset? startTime = null)
    {
        var walFile = new WalSegment(timeline, segment, SegmentSize).FileName;
        var name = deltaFrom is null ? "base_" + walFile : $"base_{walFile}_D_{deltaFrom.Substring(5, 24)}";
        var start = segment * (ulong)SegmentSize + 0x28;
        var finish = (segment + (ulong)finishSegmentsLater) * (ulong)SegmentSize + 0x100;
        var time = startTime ?? new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero).AddHours(timeline * 1000 + segment);
        var sentinel = new BackupSentinel
        {
            Lsn = start, FinishLsn = finish, PgVersion = 150010, StartTime = time, FinishTime = time.AddMinutes(1), IsPermanent = permanent,
            DeltaFrom = deltaFrom, DeltaFullName = deltaFrom is null ? null : RootOf(deltaFrom), DeltaLsn = deltaFrom is null ? null : 1, DeltaCount = deltaFrom is null ? null : 1,
        };
        Put($"basebackups_005/{name}/tar_partitions/part_001.tar.lz4", "tar");
        Put($"basebackups_005/{name}/tar_partitions/pg_control.tar.lz4", "tar");
        Put($"basebackups_005/{name}/files_metadata.json", "{}");
        Put(ArchiveLayout.MetadataKey(name), JsonSerializer.Serialize(BackupDetail.MetadataFrom(sentinel), PgArchiveJsonContext.Default.BackupMetadata));
        Put(ArchiveLayout.SentinelKey(name), JsonSerializer.Serialize(sentinel, PgArchiveJsonContext.Default.BackupSentinel));
        return name;
    }

    /// <summary>Segments <paramref name="from"/> to <paramref name="to"/> of a timeline, as .lz4 objects.</summary>
    public void AddWal(uint timeline, ulong from, ulong to)
    {
        for (var n = from; n <= to; n++)
        {
            Put($"wal_005/{new WalSegment(timeline, n, SegmentSize).FileName}.lz4", "wal");
        }
    }

    /// <summary>A timeline history file (stored uncompressed) saying <paramref name="timeline"/> branched from its parent at <paramref name="switchLsn"/>.</summary>
    public void AddHistory(uint timeline, params (uint Parent, string SwitchLsn)[] entries)
    {
        var text = new StringBuilder();
        foreach (var (parent, lsn) in entries)
        {
            text.Append(CultureInfo.InvariantCulture, $"{parent}\t{lsn}\tno recovery target specified\n");
        }

        Put($"wal_005/{timeline:X8}.history", text.ToString());
    }

    /// <summary>Changes what a backup's sentinel says, as someone with write access to the bucket could.</summary>
    public void RewriteSentinel(string name, Action<BackupSentinel> change)
    {
        var sentinel = JsonSerializer.Deserialize(Store.GetBytes(ArchiveLayout.SentinelKey(name)), PgArchiveJsonContext.Default.BackupSentinel)!;
        change(sentinel);
        Put(ArchiveLayout.SentinelKey(name), JsonSerializer.Serialize(sentinel, PgArchiveJsonContext.Default.BackupSentinel));
    }

    public void Put(string key, string content) =>
        Store.PutAsync(key, new MemoryStream(Encoding.UTF8.GetBytes(content)), PutMode.Overwrite, TestContext.Current.CancellationToken).GetAwaiter().GetResult();

    public IReadOnlyList<string> Wal(uint timeline) =>
        [.. Store.Keys.Where(k => k.StartsWith($"wal_005/{timeline:X8}", StringComparison.Ordinal) && !k.Contains(".history", StringComparison.Ordinal))
            .Select(k => k["wal_005/".Length..][..24]).Distinct()];

    public IReadOnlyList<string> Backups() =>
        [.. Store.Keys.Where(k => k.EndsWith(ArchiveLayout.SentinelSuffix, StringComparison.Ordinal)).Select(k => k["basebackups_005/".Length..^ArchiveLayout.SentinelSuffix.Length])];

    public static string Segment(uint timeline, ulong number) => new WalSegment(timeline, number, SegmentSize).FileName;

    public static IEnumerable<string> Segments(uint timeline, ulong from, ulong to)
    {
        for (var n = from; n <= to; n++)
        {
            yield return Segment(timeline, n);
        }
    }

    private string RootOf(string name)
    {
        var sentinel = JsonSerializer.Deserialize(Store.GetBytes(ArchiveLayout.SentinelKey(name)), PgArchiveJsonContext.Default.BackupSentinel)!;
        return sentinel.DeltaFullName ?? name;
    }
}
