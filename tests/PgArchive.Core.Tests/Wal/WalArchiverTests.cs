using Microsoft.Extensions.DependencyInjection;
using PgArchive.PostgresTypes;
using PgArchive.Storage;

namespace PgArchive.Wal;

public sealed class WalArchiverTests : IDisposable
{
    private readonly string _pgWal = Directory.CreateTempSubdirectory("pgarchive-wal-").FullName;
    private readonly ServiceProvider _services;
    private readonly InMemoryObjectStore _store;
    private readonly WalArchiver _archiver;

    public WalArchiverTests()
    {
        var services = new ServiceCollection();
        services.AddPgArchive().UseInMemory();
        _services = services.BuildServiceProvider();
        _store = _services.GetRequiredService<InMemoryObjectStore>();
        _archiver = _services.GetRequiredService<WalArchiver>();
    }

    public void Dispose()
    {
        _services.Dispose();
        Directory.Delete(_pgWal, recursive: true);
    }

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private string WriteSegment(string name, byte fill)
    {
        var path = Path.Combine(_pgWal, name);
        File.WriteAllBytes(path, Support.WalSegments.Filled(name, fill));
        return path;
    }

    [Fact]
    public async Task Push_stores_the_segment_compressed_under_wal_005()
    {
        var result = await _archiver.PushAsync(WriteSegment("000000010000000000000003", 7), Token);

        Assert.Equal("wal_005/000000010000000000000003.lz4", result.Key);
        Assert.False(result.AlreadyArchived);
        Assert.Equal(["wal_005/000000010000000000000003.lz4"], _store.Keys);
        Assert.True(_store.GetBytes(result.Key).Length < 1 << 16, "a segment of repeated bytes should compress");
    }

    [Fact]
    public async Task Fetch_writes_back_the_same_bytes()
    {
        var source = WriteSegment("000000010000000000000003", 7);
        await _archiver.PushAsync(source, Token);
        var destination = Path.Combine(_pgWal, "RECOVERYXLOG");

        await _archiver.FetchAsync("000000010000000000000003", destination, Token);

        Assert.Equal(await File.ReadAllBytesAsync(source, Token), await File.ReadAllBytesAsync(destination, Token));
        Assert.DoesNotContain(Directory.GetFiles(_pgWal), f => f.Contains("pgarchive-tmp", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Push_of_identical_content_again_succeeds_without_writing()
    {
        var source = WriteSegment("000000010000000000000003", 7);
        await _archiver.PushAsync(source, Token);

        var again = await _archiver.PushAsync(source, Token);

        Assert.True(again.AlreadyArchived);
    }

    [Fact]
    public async Task Push_of_different_content_under_an_archived_name_fails_and_keeps_the_original()
    {
        var source = WriteSegment("000000010000000000000003", 7);
        await _archiver.PushAsync(source, Token);
        var original = _store.GetBytes("wal_005/000000010000000000000003.lz4");
        WriteSegment("000000010000000000000003", 8);

        var ex = await Assert.ThrowsAsync<WalArchiveConflictException>(() => _archiver.PushAsync(source, Token));

        Assert.Contains("000000010000000000000003", ex.Message, StringComparison.Ordinal);
        Assert.Equal(original, _store.GetBytes("wal_005/000000010000000000000003.lz4"));
    }

    [Fact]
    public async Task Push_of_a_missing_file_fails_clearly()
    {
        var ex = await Assert.ThrowsAsync<PgArchiveException>(() => _archiver.PushAsync(Path.Combine(_pgWal, "000000010000000000000009"), Token));
        Assert.Contains("does not exist", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Fetch_of_a_file_not_in_the_archive_throws_not_found()
    {
        var ex = await Assert.ThrowsAsync<WalFileNotFoundException>(() => _archiver.FetchAsync("00000002.history", Path.Combine(_pgWal, "x"), Token));
        Assert.Equal("00000002.history", ex.WalFileName);
        Assert.False(File.Exists(Path.Combine(_pgWal, "x")));
    }

    [Fact]
    public async Task Fetch_into_a_missing_directory_fails_clearly()
    {
        await _archiver.PushAsync(WriteSegment("000000010000000000000003", 7), Token);
        var ex = await Assert.ThrowsAsync<PgArchiveException>(() =>
            _archiver.FetchAsync("000000010000000000000003", Path.Combine(_pgWal, "no-such-dir", "x"), Token));
        Assert.Contains("does not exist", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Fetch_reads_segments_stored_without_compression()
    {
        var segment = Support.WalSegments.Filled("000000010000000000000004", 3);
        await _store.PutAsync("wal_005/000000010000000000000004", new MemoryStream(segment), cancellationToken: Token);
        var destination = Path.Combine(_pgWal, "RECOVERYXLOG");

        var key = await _archiver.FetchAsync("000000010000000000000004", destination, Token);

        Assert.Equal("wal_005/000000010000000000000004", key);
        Assert.Equal(segment, await File.ReadAllBytesAsync(destination, Token));
    }

    [Fact]
    public async Task Fetch_of_a_corrupt_object_fails_naming_it_and_writes_nothing()
    {
        await _store.PutAsync("wal_005/000000010000000000000005.lz4", new MemoryStream([0x04, 0x22, 0x4D, 0x18, 0xFF, 0xFF, 0xFF]), cancellationToken: Token);
        var destination = Path.Combine(_pgWal, "RECOVERYXLOG");

        var ex = await Assert.ThrowsAnyAsync<Exception>(() => _archiver.FetchAsync("000000010000000000000005", destination, Token));

        Assert.False(File.Exists(destination), ex.Message);
        Assert.DoesNotContain(Directory.GetFiles(_pgWal), f => f.Contains("pgarchive-tmp", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("truncated", "truncated")]
    [InlineData("flipped", "content checksum")]
    [InlineData("swapped", "another segment's content")]
    [InlineData("padded", "longer than")]
    public async Task Fetch_of_a_tampered_segment_fails_naming_the_object_and_writes_nothing(string damage, string expected)
    {
        const string Name = "000000010000000000000006";
        var key = (await _archiver.PushAsync(WriteSegment(Name, 6), Token)).Key;
        await _archiver.PushAsync(WriteSegment("000000010000000000000007", 6), Token);
        var raw = Support.WalSegments.Filled(Name, 6);
        raw[5000] ^= 0x01;
        var replacement = damage switch
        {
            "truncated" => await Compress(raw[..^8192]),
            "flipped" => await Compress(raw, flipAfterCompression: true),
            "swapped" => _store.GetBytes("wal_005/000000010000000000000007.lz4"),
            _ => await Compress([.. Support.WalSegments.Filled(Name, 6), .. new byte[8192]]),
        };
        await _store.PutAsync(key, new MemoryStream(replacement), cancellationToken: Token);
        var destination = Path.Combine(_pgWal, "RECOVERYXLOG");

        var ex = await Assert.ThrowsAnyAsync<PgArchiveException>(() => _archiver.FetchAsync(Name, destination, Token));

        Assert.Contains(key, ex.Message, StringComparison.Ordinal);
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(destination));
        Assert.DoesNotContain(Directory.GetFiles(_pgWal), f => f.Contains("pgarchive-tmp", StringComparison.Ordinal));

        async Task<byte[]> Compress(byte[] content, bool flipAfterCompression = false)
        {
            var stored = await Support.Codecs.CompressAsync(new Compression.Lz4Compressor(), flipAfterCompression ? Support.WalSegments.Filled(Name, 6) : content);
            if (flipAfterCompression)
            {
                stored[30] ^= 0x01; // in the first block's literals: still decodes, to different bytes
            }

            return stored;
        }
    }

    [Theory]
    [InlineData("000000010000000000000009")]
    [InlineData("00000002.history")]
    public async Task Fetch_of_a_file_not_yet_archived_costs_one_store_call(string name)
    {
        await _archiver.PushAsync(WriteSegment("000000010000000000000008", 7), Token);
        var before = _store.OperationCount;

        await Assert.ThrowsAsync<WalFileNotFoundException>(() => _archiver.FetchAsync(name, Path.Combine(_pgWal, "x"), Token));

        Assert.Equal(1, _store.OperationCount - before); // a standby polls for the next segment and the next timeline's history
    }

    [Fact]
    public async Task Fetch_of_an_archived_segment_costs_a_listing_and_a_read()
    {
        await _archiver.PushAsync(WriteSegment("000000010000000000000008", 7), Token);
        var before = _store.OperationCount;

        await _archiver.FetchAsync("000000010000000000000008", Path.Combine(_pgWal, "RECOVERYXLOG"), Token);

        Assert.Equal(2, _store.OperationCount - before);
    }

    [Fact]
    public async Task Fetch_takes_the_segment_itself_and_not_the_backup_history_file_beside_it()
    {
        // Its .partial stands in for a segment not archived yet (PartialSegmentFetchTests); a .backup file never does.
        var segment = Support.WalSegments.Filled("000000010000000000000006", 5);
        await _store.PutAsync("wal_005/000000010000000000000006.00000028.backup", new MemoryStream("START WAL LOCATION"u8.ToArray()), cancellationToken: Token);
        var destination = Path.Combine(_pgWal, "RECOVERYXLOG");

        await Assert.ThrowsAsync<WalFileNotFoundException>(() => _archiver.FetchAsync("000000010000000000000006", destination, Token));
        await _store.PutAsync("wal_005/000000010000000000000006.zst.unknown", new MemoryStream(segment), cancellationToken: Token);
        await Assert.ThrowsAsync<WalFileNotFoundException>(() => _archiver.FetchAsync("000000010000000000000006", destination, Token));
        await _store.PutAsync("wal_005/000000010000000000000006", new MemoryStream(segment), cancellationToken: Token);
        var key = await _archiver.FetchAsync("000000010000000000000006", destination, Token);

        Assert.Equal("wal_005/000000010000000000000006", key);
        Assert.Equal(segment, await File.ReadAllBytesAsync(destination, Token));
    }

    [Fact]
    public async Task Fetch_prefers_the_configured_compression_when_a_segment_is_stored_twice()
    {
        var segment = Support.WalSegments.Filled("000000010000000000000007", 5);
        await _store.PutAsync("wal_005/000000010000000000000007", new MemoryStream(Support.WalSegments.Filled("000000010000000000000007", 6)), cancellationToken: Token);
        await _archiver.PushAsync(WriteSegment("000000010000000000000007", 5), Token);

        var key = await _archiver.FetchAsync("000000010000000000000007", Path.Combine(_pgWal, "RECOVERYXLOG"), Token);

        Assert.Equal("wal_005/000000010000000000000007.lz4", key);
        Assert.Equal(segment, await File.ReadAllBytesAsync(Path.Combine(_pgWal, "RECOVERYXLOG"), Token));
    }
}
