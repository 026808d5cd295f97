using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using PgArchive.PostgresTypes;
using PgArchive.Storage;
using PgArchive.Wal;
using PgArchive.Wal.Records;

namespace PgArchive.Streaming;

public sealed class ReceivedWalStoreTests : IDisposable
{
    private static readonly WalSegment Segment = WalSegment.Parse("000000010000000000000003", Support.WalSegments.Size);
    private readonly ServiceProvider _services;
    private readonly InMemoryObjectStore _store;
    private readonly ObjectCodec _codec;
    private readonly ReceivedWalStore _received;

    public ReceivedWalStoreTests()
    {
        var services = new ServiceCollection();
        services.AddPgArchive().UseInMemory();
        _services = services.BuildServiceProvider();
        _store = _services.GetRequiredService<InMemoryObjectStore>();
        _codec = _services.GetRequiredService<ObjectCodec>();
        _received = new ReceivedWalStore(_store, _codec, NullLogger.Instance, Polly.ResiliencePipeline.Empty);
    }

    public void Dispose() => _services.Dispose();

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private async Task<byte[]> DecodedAsync(string key)
    {
        var stream = await _codec.OpenDecodedAsync(_store, key, Token);
        await using (stream)
        {
            var copy = new MemoryStream();
            await stream.CopyToAsync(copy, Token);
            return copy.ToArray();
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task With_wal_delta_a_received_segment_gets_the_block_map_wal_push_would_store_and_without_it_none(bool mapBlocks)
    {
        // A hand-built 1 MiB segment of PostgreSQL 15 with one heap update touching block 7 (and its visibility map).
        var segment = WalSegment.Parse("000000010000000000000003", SyntheticWal.SegmentSize);
        var heap = new RelationFork(1663, 5, 16384, 0);
        var writer = new SyntheticWal.SegmentWriter(3);
        writer.Add(SyntheticWal.Record(10, 0x20, [new SyntheticWal.Block(heap, 7, DataLength: 30), new SyntheticWal.Block(heap with { Fork = 2 }, 0, SameRel: true)], new byte[14]));
        var received = new ReceivedWalStore(_store, _codec, NullLogger.Instance, Polly.ResiliencePipeline.Empty, mapBlocks);

        await received.StoreSegmentAsync(segment, writer.Segment, Token);

        var maps = new WalBlockMapStore(_store, _codec);
        var listed = await maps.ListAsync(1, Token);
        Assert.Contains("wal_005/000000010000000000000003.lz4", _store.Keys);
        if (!mapBlocks)
        {
            Assert.Empty(listed);
            return;
        }

        var map = await maps.ReadAsync(Assert.Single(listed).Value, Token);
        Assert.Equal([7u], map.Changes.Blocks[heap].Order());
        Assert.Equal([0u], map.Changes.Blocks[heap with { Fork = 2 }].Order());
    }

    [Fact]
    public async Task A_partial_is_the_received_prefix_padded_with_zeros_to_the_segment_size()
    {
        var data = Support.WalSegments.Filled(Segment.FileName, 5);

        await _received.StorePartialAsync(Segment, data, 1000, Token);

        var stored = await DecodedAsync("wal_005/000000010000000000000003.partial.lz4");
        Assert.Equal(Support.WalSegments.Size, stored.Length);
        Assert.Equal(data.AsSpan(0, 1000).ToArray(), stored.AsSpan(0, 1000).ToArray());
        Assert.True(stored.AsSpan(1000).IndexOfAnyExcept((byte)0) < 0);
        Assert.Equal(stored, await _received.ReadPartialAsync(Segment, Token));
    }

    [Fact]
    public async Task A_complete_segment_replaces_its_partial_and_an_identical_one_already_stored_is_success()
    {
        var data = Support.WalSegments.Filled(Segment.FileName, 5);
        await _received.StorePartialAsync(Segment, data, 1000, Token);

        await _received.StoreSegmentAsync(Segment, data, Token);
        await _received.StoreSegmentAsync(Segment, data, Token);

        Assert.Equal(["wal_005/000000010000000000000003.lz4"], _store.Keys);
        Assert.Equal(data, await DecodedAsync("wal_005/000000010000000000000003.lz4"));
    }

    [Fact]
    public async Task A_complete_segment_never_overwrites_different_content()
    {
        await _received.StoreSegmentAsync(Segment, Support.WalSegments.Filled(Segment.FileName, 5), Token);

        await Assert.ThrowsAsync<WalArchiveConflictException>(() => _received.StoreSegmentAsync(Segment, Support.WalSegments.Filled(Segment.FileName, 6), Token));
        Assert.Equal(Support.WalSegments.Filled(Segment.FileName, 5), await DecodedAsync("wal_005/000000010000000000000003.lz4"));
    }

    [Fact]
    public async Task A_history_file_is_stored_once_and_a_different_one_is_a_conflict()
    {
        await _received.StoreHistoryAsync("00000002.history", "1\t0/3000000\tno recovery target specified\n", Token);
        await _received.StoreHistoryAsync("00000002.history", "1\t0/3000000\tno recovery target specified\n", Token);

        await Assert.ThrowsAsync<WalArchiveConflictException>(() => _received.StoreHistoryAsync("00000002.history", "1\t0/4000000\tother\n", Token));
    }
}
