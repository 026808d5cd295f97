using Microsoft.Extensions.DependencyInjection;
using PgArchive.PostgresTypes;
using PgArchive.Storage;

namespace PgArchive.Wal;

/// <summary>wal-fetch's prefetch: the next segments land complete in the prefetch directory and are used only when valid.</summary>
public sealed class WalPrefetcherTests : IDisposable
{
    private const int SegmentSize = 1 << 20;
    private readonly string _root = Directory.CreateTempSubdirectory("pgarchive-prefetch-").FullName;
    private readonly ServiceProvider _services;
    private readonly WalArchiver _archiver;
    private readonly WalPrefetcher _prefetcher;

    public WalPrefetcherTests()
    {
        var services = new ServiceCollection();
        services.AddPgArchive(o => o.CompressionMethod = "lz4").UseInMemory();
        _services = services.BuildServiceProvider();
        _archiver = _services.GetRequiredService<WalArchiver>();
        _prefetcher = _services.GetRequiredService<WalPrefetcher>();
        Directory.CreateDirectory(Path.Combine(_root, "pg_wal"));
    }

    public void Dispose()
    {
        _services.Dispose();
        Directory.Delete(_root, recursive: true);
    }

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private string PgWal => Path.Combine(_root, "pg_wal");

    private string Prefetch => WalPrefetcher.DefaultDirectory(Path.Combine(PgWal, "RECOVERYXLOG"));

    /// <summary>A segment whose first page header names its timeline and position, as PostgreSQL writes it.</summary>
    private static byte[] SegmentBytes(WalSegment segment) => Support.WalSegments.Create(segment.FileName, size =>
    {
        var data = new byte[size];
        data[100] = (byte)segment.Number;
        return data;
    }, size: SegmentSize);

    private async Task ArchiveAsync(WalSegment segment)
    {
        var path = Path.Combine(_root, segment.FileName);
        await File.WriteAllBytesAsync(path, SegmentBytes(segment), Token);
        await _archiver.PushAsync(path, Token);
        File.Delete(path);
    }

    [Fact]
    public async Task The_next_segments_are_prefetched_and_taken_instead_of_downloaded()
    {
        var segments = Enumerable.Range(1, 5).Select(n => new WalSegment(1, (ulong)n, SegmentSize)).ToList();
        foreach (var segment in segments)
        {
            await ArchiveAsync(segment);
        }

        var fetched = await _prefetcher.PrefetchAsync(segments[0].FileName, Prefetch, count: 3, concurrency: 2, Token);

        Assert.Equal(3, fetched);
        Assert.Equal([segments[1].FileName, segments[2].FileName, segments[3].FileName], Directory.GetFiles(Prefetch).Select(Path.GetFileName).Order());
        Assert.Empty(Directory.GetFiles(Path.Combine(Prefetch, "running")));

        var destination = Path.Combine(PgWal, "RECOVERYXLOG");
        Assert.True(WalPrefetcher.TryTake(Prefetch, segments[2].FileName, destination));
        Assert.Equal(SegmentBytes(segments[2]), await File.ReadAllBytesAsync(destination, Token));
        Assert.False(File.Exists(Path.Combine(Prefetch, segments[1].FileName)), "older prefetched segments of the timeline are dropped");
        Assert.True(File.Exists(Path.Combine(Prefetch, segments[3].FileName)));
    }

    [Fact]
    public async Task Prefetch_stops_where_the_archive_ends()
    {
        await ArchiveAsync(new WalSegment(1, 1, SegmentSize));
        await ArchiveAsync(new WalSegment(1, 2, SegmentSize));
        Assert.Equal(1, await _prefetcher.PrefetchAsync(new WalSegment(1, 1, SegmentSize).FileName, Prefetch, count: 4, concurrency: 4, Token));
    }

    [Fact]
    public async Task Prefetch_ahead_of_the_archive_costs_one_listing_and_a_read_per_archived_segment()
    {
        var store = _services.GetRequiredService<InMemoryObjectStore>();
        foreach (var n in new ulong[] { 0xFE, 0xFF, 0x100 })
        {
            // 16 MiB segments: 0x100 is the first of the next log id, so another listing
            var segment = new WalSegment(1, n);
            var path = Path.Combine(_root, segment.FileName);
            await File.WriteAllBytesAsync(path, Support.WalSegments.Filled(segment.FileName, (byte)n), Token);
            await _archiver.PushAsync(path, Token);
        }

        var before = store.OperationCount;
        var fetched = await _prefetcher.PrefetchAsync(new WalSegment(1, 0xFD).FileName, Prefetch, count: 6, concurrency: 2, Token);

        Assert.Equal(3, fetched);
        Assert.Equal(2 + 3, store.OperationCount - before);
    }

    [Fact]
    public void A_file_of_another_position_or_timeline_or_a_cut_file_is_never_taken()
    {
        Directory.CreateDirectory(Prefetch);
        var wanted = new WalSegment(2, 7, SegmentSize);
        var destination = Path.Combine(PgWal, "RECOVERYXLOG");

        File.WriteAllBytes(Path.Combine(Prefetch, wanted.FileName), SegmentBytes(new WalSegment(1, 7, SegmentSize)));
        Assert.False(WalPrefetcher.TryTake(Prefetch, wanted.FileName, destination));
        Assert.False(File.Exists(Path.Combine(Prefetch, wanted.FileName)), "an invalid prefetched file is removed");

        File.WriteAllBytes(Path.Combine(Prefetch, wanted.FileName), SegmentBytes(new WalSegment(2, 8, SegmentSize)));
        Assert.False(WalPrefetcher.TryTake(Prefetch, wanted.FileName, destination));

        File.WriteAllBytes(Path.Combine(Prefetch, wanted.FileName), SegmentBytes(wanted).AsSpan(0, SegmentSize / 2).ToArray());
        Assert.False(WalPrefetcher.TryTake(Prefetch, wanted.FileName, destination));

        // a timeline-1 file with a later name stays (it is another timeline's: ignored, not used)
        var other = new WalSegment(1, 9, SegmentSize);
        File.WriteAllBytes(Path.Combine(Prefetch, other.FileName), SegmentBytes(other));
        Assert.False(WalPrefetcher.TryTake(Prefetch, wanted.FileName, destination));
        Assert.False(File.Exists(destination));

        File.WriteAllBytes(Path.Combine(Prefetch, wanted.FileName), SegmentBytes(wanted));
        Assert.True(WalPrefetcher.TryTake(Prefetch, wanted.FileName, destination));
    }
}
