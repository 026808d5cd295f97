using PgArchive.Support;

namespace PgArchive.Compression;

/// <summary>Every codec, every awkward size, both the sync and async stream paths.</summary>
public sealed class CompressorRoundTripTests
{
    public static TheoryData<string, int, bool> Cases()
    {
        var cases = new TheoryData<string, int, bool>();
        foreach (var method in new[] { "lz4", "zstd", "brotli", "lzma", "none" })
        {
            foreach (var length in new[] { 0, 1, 8191, 8192, 8193, 1_000_003 })
            {
                cases.Add(method, length, true);
            }

            cases.Add(method, 70_001, false);
        }

        return cases;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Round_trip_returns_the_input(string method, int length, bool asynchronous)
    {
        var compressor = Codecs.Compressor(method);
        var data = Codecs.Data(length);

        var stored = await Codecs.CompressAsync(compressor, data, asynchronous);
        var result = await Codecs.DecompressAsync(compressor, stored, asynchronous);

        Assert.Equal(data.Length, result.Length);
        Assert.True(Codecs.Same(data, result), $"{method} changed the content of {length} bytes");
    }

    [Theory]
    [InlineData("lz4")]
    [InlineData("zstd")]
    [InlineData("brotli")]
    [InlineData("lzma")]
    public async Task Compressible_input_gets_smaller(string method)
    {
        var data = new byte[1 << 20];
        for (var i = 0; i < data.Length; i++)
        {
            data[i] = (byte)(i % 8192 < 100 ? i % 7 : 0);
        }

        var stored = await Codecs.CompressAsync(Codecs.Compressor(method), data);

        Assert.True(stored.Length < data.Length / 20, $"{method}: {stored.Length} bytes for 1 MiB of mostly zeros");
    }

    [Theory]
    [InlineData("zstd")]
    [InlineData("brotli")]
    [InlineData("lzma")]
    public async Task Truncated_object_fails_with_invalid_data(string method)
    {
        var compressor = Codecs.Compressor(method);
        var stored = await Codecs.CompressAsync(compressor, Codecs.Data(300_000));

        foreach (var cut in new[] { stored.Length - 1, stored.Length / 2, 3 })
        {
            var ex = await Assert.ThrowsAnyAsync<Exception>(() => Codecs.DecompressAsync(compressor, stored[..cut]));
            Assert.True(ex is InvalidDataException or EndOfStreamException, $"{method} cut at {cut}: {ex.GetType()}: {ex.Message}");
        }
    }

    [Theory]
    [InlineData("brotli")]
    [InlineData("lzma")]
    public async Task Empty_object_fails_with_invalid_data(string method)
    {
        var ex = await Assert.ThrowsAsync<InvalidDataException>(() => Codecs.DecompressAsync(Codecs.Compressor(method), []));
        Assert.Contains("empty", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("lz4")]
    [InlineData("zstd")]
    public async Task Empty_object_is_empty_content_as_the_walg_and_k4os_writers_make_it(string method)
    {
        // Neither klauspost's zstd encoder (WAL-G, without WithZeroFrames) nor K4os' LZ4 encoder writes a frame for empty input.
        Assert.Empty(await Codecs.DecompressAsync(Codecs.Compressor(method), []));
    }

    [Theory]
    [InlineData("zstd")]
    [InlineData("brotli")]
    [InlineData("lzma")]
    public async Task Bytes_after_the_end_of_the_stream_fail(string method)
    {
        var compressor = Codecs.Compressor(method);
        var stored = await Codecs.CompressAsync(compressor, Codecs.Data(10_000));

        await Assert.ThrowsAnyAsync<InvalidDataException>(() => Codecs.DecompressAsync(compressor, [.. stored, 0x42, 0x17, 0x00, 0x99]));
    }

    [Theory]
    [InlineData("lz4")]
    [InlineData("zstd")]
    [InlineData("lzma")]
    public async Task Changed_byte_fails_with_invalid_data(string method)
    {
        // lz4 and zstd frames carry a content checksum; LZMA's range coder derails on a flipped bit in compressible data.
        var compressor = Codecs.Compressor(method);
        var stored = await Codecs.CompressAsync(compressor, Codecs.Data(200_000));
        stored[stored.Length * 3 / 4] ^= 0x5A;

        await Assert.ThrowsAsync<InvalidDataException>(() => Codecs.DecompressAsync(compressor, stored));
    }

    [Fact]
    public async Task Decompression_leaves_the_source_open_when_asked()
    {
        foreach (var method in new[] { "zstd", "brotli", "lzma" })
        {
            var compressor = Codecs.Compressor(method);
            var source = new MemoryStream(await Codecs.CompressAsync(compressor, Codecs.Data(100)));
            await using (var decompress = compressor.CreateDecompressionStream(source, leaveOpen: true))
            {
                await decompress.CopyToAsync(Stream.Null, TestContext.Current.CancellationToken);
            }

            Assert.True(source.CanRead, method);
            await using (compressor.CreateDecompressionStream(source, leaveOpen: false))
            {
            }

            Assert.False(source.CanRead, method);
        }
    }
}
