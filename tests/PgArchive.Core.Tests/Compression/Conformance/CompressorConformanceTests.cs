using Microsoft.Extensions.DependencyInjection;
using PgArchive.DependencyInjection;
using PgArchive.Storage;
using PgArchive.Support;

namespace PgArchive.Compression.Conformance;

/// <summary>
/// What every compressor must do, as the archive pipeline relies on it: registered, it is chosen by its method name and
/// read by its extension; it returns what it was given at every size; an empty, cut or altered object ends in an
/// <see cref="InvalidDataException"/> or, for a format without checks of its own, at least ends; async reads and writes
/// honour cancellation; and it streams, in memory that does not grow with the data. A compressor's test class inherits
/// this, naming its type, the one registration line when <c>AddPgArchive</c> does not register it, and what its format
/// can detect.
/// </summary>
public abstract class CompressorConformanceTests<TCompressor> : CodecConformanceBase
    where TCompressor : class, ICompressor
{
    /// <summary>The compressor under test, as dependency injection creates it.</summary>
    protected TCompressor Compressor => field ??= Build(_ => { }).GetServices<ICompressor>().OfType<TCompressor>().Single();

    /// <summary>Whether a cut object is an error (the format has an end marker, a length or a checksum).</summary>
    protected virtual bool DetectsTruncation => true;

    /// <summary>Whether a changed byte is an error (the format carries a checksum, or its decoder derails on damage).</summary>
    protected virtual bool DetectsChangedByte => true;

    /// <summary>Whether bytes after the end of the compressed stream are an error.</summary>
    protected virtual bool DetectsTrailingBytes => true;

    /// <summary>Whether the method compresses at all (1 MiB of mostly zeros to under a twentieth).</summary>
    protected virtual bool Compresses => true;

    /// <summary>Whether an empty object is empty content (the method writes nothing for empty input) rather than invalid data.</summary>
    protected virtual bool EmptyObjectIsEmptyContent => true;

    /// <summary>What each direction of a 64 MiB round trip may allocate; the default suits a codec whose buffers are small.</summary>
    protected virtual long AllocationBudget => 16L << 20;

    /// <summary>Registers the compressor under test: nothing for the built-in ones, which <c>AddPgArchive</c> registers.</summary>
    protected virtual void Register(IPgArchiveBuilder builder)
    {
    }

    private ServiceProvider Build(Action<PgArchiveOptions> options) => Build(options, Register);

    private Stream Encode(Stream sink) => Compressor.CreateCompressionStream(sink, leaveOpen: true);

    private Stream Decode(Stream source) => Compressor.CreateDecompressionStream(source);

    [Fact]
    public void Is_chosen_by_its_method_name_and_read_by_its_extension()
    {
        var provider = Build(o => o.CompressionMethod = Compressor.Method.ToUpperInvariant());
        var registry = provider.GetRequiredService<CompressorRegistry>();

        Assert.IsType<TCompressor>(registry.Default);
        Assert.Single(registry.ProbeOrder, d => d.FileExtension == Compressor.FileExtension);
        var key = CompressorRegistry.WithExtension("basebackups_005/base_000000010000000000000002/tar_partitions/part_001.tar", registry.Default);
        Assert.IsType<TCompressor>(provider.GetRequiredService<ObjectCodec>().CompressorFor(key));
    }

    [Fact]
    public Task Round_trip_returns_the_input_at_every_size() => CodecProbes.AssertRoundTripsAsync(Encode, Decode, CodecProbes.Sizes);

    [Fact]
    public Task Round_trip_through_the_synchronous_stream_calls_returns_the_input() =>
        CodecProbes.AssertRoundTripsAsync(Encode, Decode, [0, 8193, 300_001], asynchronous: false);

    [Fact]
    public async Task Empty_object_is_empty_content_or_invalid_data_as_the_format_says()
    {
        if (EmptyObjectIsEmptyContent)
        {
            Assert.Empty(await CodecProbes.DecodeWithoutHangingAsync(Decode, []));
        }
        else
        {
            await Assert.ThrowsAsync<InvalidDataException>(() => CodecProbes.DecodeWithoutHangingAsync(Decode, []));
        }
    }

    [Fact]
    public async Task Cut_object_is_invalid_data_or_at_least_ends()
    {
        var data = Codecs.Data(300_000);
        var stored = await Codecs.CompressAsync(Compressor, data);

        foreach (var cut in new[] { stored.Length - 1, stored.Length / 2, Math.Min(3, stored.Length - 1) })
        {
            await CodecProbes.AssertDamageHandledAsync(Decode, stored[..cut], data, DetectsTruncation, $"cut at {cut}");
        }
    }

    [Fact]
    public async Task Changed_byte_is_invalid_data_or_at_least_ends()
    {
        var data = Codecs.Data(200_000);
        var stored = await Codecs.CompressAsync(Compressor, data);
        stored[stored.Length * 3 / 4] ^= 0x5A;

        await CodecProbes.AssertDamageHandledAsync(Decode, stored, data, DetectsChangedByte, "a changed byte");
    }

    [Fact]
    public async Task Bytes_after_the_end_of_the_stream_are_invalid_data_when_the_format_can_tell()
    {
        var data = Codecs.Data(10_000);
        var stored = await Codecs.CompressAsync(Compressor, data);

        await CodecProbes.AssertDamageHandledAsync(Decode, [.. stored, 0x42, 0x17, 0x00, 0x99], data, DetectsTrailingBytes, "bytes after the end");
    }

    [Fact]
    public async Task Compressible_input_gets_smaller()
    {
        var data = new byte[1 << 20];
        for (var i = 0; i < data.Length; i++)
        {
            data[i] = (byte)(i % 8192 < 100 ? i % 7 : 0);
        }

        var stored = await Codecs.CompressAsync(Compressor, data);

        Assert.Equal(Compresses, stored.Length < data.Length / 20);
    }

    [Fact]
    public Task Async_write_honours_cancellation() => CodecProbes.AssertAsyncWriteHonoursCancellationAsync(Encode);

    [Fact]
    public Task Async_read_honours_cancellation() => CodecProbes.AssertAsyncReadHonoursCancellationAsync(Decode);

    [Fact]
    public void Round_trip_of_64_MiB_streams_in_bounded_memory() =>
        CodecProbes.AssertRoundTripStreams(Encode, Decode, ("compressing", "decompressing"), AllocationBudget);

    [Fact]
    public async Task Streams_are_left_open_when_asked_and_closed_otherwise()
    {
        var destination = new MemoryStream();
        await using (Compressor.CreateCompressionStream(destination, leaveOpen: true))
        {
        }

        Assert.True(destination.CanRead, "compression closed the destination it was asked to leave open");
        var source = new MemoryStream(destination.ToArray());
        await using (var decompress = Compressor.CreateDecompressionStream(source, leaveOpen: true))
        {
            await decompress.CopyToAsync(Stream.Null, Token);
        }

        Assert.True(source.CanRead, "decompression closed the source it was asked to leave open");
        await using (Compressor.CreateCompressionStream(destination, leaveOpen: false))
        {
        }

        Assert.False(destination.CanRead, "compression left its destination open");
        source.Position = 0;
        await using (Compressor.CreateDecompressionStream(source, leaveOpen: false))
        {
        }

        Assert.False(source.CanRead, "decompression left its source open");
    }
}
