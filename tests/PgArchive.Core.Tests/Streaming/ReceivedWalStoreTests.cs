using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using PgArchive.PostgresTypes;
using PgArchive.Storage;
using PgArchive.Wal;

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
