using Microsoft.Extensions.DependencyInjection;
using PgArchive.Backups.Delta;
using PgArchive.PostgresTypes;
using PgArchive.Storage;
using static PgArchive.Wal.Records.SyntheticWal;

namespace PgArchive.Wal.Records;

/// <summary>wal-push with WALG_USE_WAL_DELTA stores maps; the reader gathers them over a range, with pg_wal for what is not archived.</summary>
public sealed class WalBlockMapReaderTests : IDisposable
{
    private static readonly Wal.Records.RelationFork Heap = new(1663, 5, 16384, 0);
    private readonly string _pgWal = Directory.CreateTempSubdirectory("pgarchive-walmap-").FullName;
    private readonly ServiceProvider _services;
    private readonly InMemoryObjectStore _store;
    private readonly WalArchiver _archiver;
    private readonly WalBlockMapReader _reader;

    public WalBlockMapReaderTests()
    {
        var services = new ServiceCollection();
        services.AddPgArchive(o => o.UseWalDelta = true).UseInMemory();
        _services = services.BuildServiceProvider();
        _store = _services.GetRequiredService<InMemoryObjectStore>();
        _archiver = _services.GetRequiredService<WalArchiver>();
        _reader = new WalBlockMapReader(_store, _services.GetRequiredService<ObjectCodec>());
    }

    public void Dispose()
    {
        _services.Dispose();
        Directory.Delete(_pgWal, recursive: true);
    }

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static Lsn At(ulong segment, int offset = 0) => new((segment * SegmentSize) + (ulong)offset);

    /// <summary>Segments 3, 4, 5 in pg_wal: segment n changes block 10n and 10n+1; a record changing block 99 crosses from 3 into 4.</summary>
    private void WriteSegments()
    {
        var three = new SegmentWriter(3);
        three.Add(Update(30));
        three.Add(Update(31));
        while (SegmentSize - three.Position > 3000)
        {
            three.Add(Filler(2000));
        }

        three.Add(Filler(SegmentSize - three.Position - 30));
        three.Add(Update(99));
        var four = new SegmentWriter(4, three.Overflow);
        four.Add(Update(40));
        four.Add(Update(41));
        var five = new SegmentWriter(5);
        five.Add(Update(50));
        five.Add(Update(51));
        foreach (var (number, writer) in (IEnumerable<(int, SegmentWriter)>)[(3, three), (4, four), (5, five)])
        {
            File.WriteAllBytes(Path.Combine(_pgWal, Name(number)), writer.Segment);
        }
    }

    private static byte[] Update(uint block) => Record(10, 0, [new Block(Heap, block, DataLength: 20)], new byte[10]);

    private static string Name(int segment) => new WalSegment(1, (ulong)segment, SegmentSize).FileName;

    [Fact]
    public async Task Push_stores_a_map_beside_the_segment_and_the_reader_joins_the_record_cut_between_segments()
    {
        WriteSegments();
        await _archiver.PushAsync(Path.Combine(_pgWal, Name(4)), Token); // out of order, as parallel uploads may be
        await _archiver.PushAsync(Path.Combine(_pgWal, Name(3)), Token);

        var result = await _reader.ReadAsync(1, 1, At(3), At(5), SegmentSize, null, Token);

        Assert.Contains("wal_blockmaps_005/" + Name(3) + ".blockmap.lz4", _store.Keys);
        Assert.Null(result.NotAvailable);
        Assert.Equal([30u, 31u, 40u, 41u, 99u], result.Changes!.Blocks[Heap].Order());
        Assert.Equal((2, 0), (result.FromArchive, result.FromPgWal));
    }

    [Fact]
    public async Task Reader_parses_from_pg_wal_the_segments_not_archived_yet()
    {
        WriteSegments();
        await _archiver.PushAsync(Path.Combine(_pgWal, Name(3)), Token);

        var result = await _reader.ReadAsync(1, 1, At(3, 100), At(5, 200), SegmentSize, _pgWal, Token);

        Assert.Null(result.NotAvailable);
        Assert.Equal([30u, 31u, 40u, 41u, 50u, 51u, 99u], result.Changes!.Blocks[Heap].Order());
        Assert.Equal((1, 2), (result.FromArchive, result.FromPgWal));
    }

    [Fact]
    public async Task Reader_says_why_when_a_segment_has_no_map_and_is_not_in_pg_wal()
    {
        WriteSegments();
        await _archiver.PushAsync(Path.Combine(_pgWal, Name(3)), Token);
        File.Delete(Path.Combine(_pgWal, Name(4)));

        var result = await _reader.ReadAsync(1, 1, At(3), At(5, 100), SegmentSize, _pgWal, Token);

        Assert.Null(result.Changes);
        Assert.Equal($"{Name(4)} has no block map in the archive and is not in pg_wal", result.NotAvailable);
    }

    [Fact]
    public async Task Reader_refuses_a_range_across_a_timeline_switch()
    {
        var result = await _reader.ReadAsync(1, 2, At(3), At(5), SegmentSize, _pgWal, Token);

        Assert.Null(result.Changes);
        Assert.Contains("timeline switch", result.NotAvailable, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Delta_seam_gets_the_changed_blocks_and_limits_of_the_maps()
    {
        WriteSegments();
        await _archiver.PushAsync(Path.Combine(_pgWal, Name(3)), Token);
        await _archiver.PushAsync(Path.Combine(_pgWal, Name(4)), Token);

        var (map, notAvailable) = await WalBlockMapSource.ReadAsync(_reader, 1, 1, At(3), At(5), SegmentSize, null, Token);
        var changes = new WalBlockChanges();
        changes.AddLimit(Heap with { Relation = 16400 }, 3);
        changes.AddLimit(new Wal.Records.RelationFork(1663, 16500, 0, 0), 0);
        var limits = WalBlockMapSource.ToChangedBlockMap(changes);

        Assert.Null(notAvailable);
        Assert.Equal(5, map!.BlockCount);
        Assert.Equal([30u, 31u, 40u, 41u, 99u], map.Select("base/5/16384", 100 * 8192).Blocks);
        Assert.Equal(3u, limits.LimitBlockOf(new Backups.Delta.RelationFork(1663, 5, 16400, 0)));
        Assert.True(limits.Select("base/16500/16384", 10 * 8192).IsWhole); // the database was created or dropped in the range
    }

    [Fact]
    public async Task Push_without_the_option_stores_no_map()
    {
        WriteSegments();
        var services = new ServiceCollection();
        services.AddPgArchive().UseInMemory();
        await using var plain = services.BuildServiceProvider();

        await plain.GetRequiredService<WalArchiver>().PushAsync(Path.Combine(_pgWal, Name(3)), Token);

        Assert.Equal(["wal_005/" + Name(3) + ".lz4"], plain.GetRequiredService<InMemoryObjectStore>().Keys);
    }
}
