using Microsoft.Extensions.DependencyInjection;
using PgArchive.DependencyInjection;
using PgArchive.Storage;
using PgArchive.Support;

namespace PgArchive.Compression.Conformance;

/// <summary>
/// What every read-only decompressor (a method PgArchive reads and never writes, such as WAL-E's <c>.lzo</c>) must do:
/// registered, it reads objects by its extension and is refused as the method to write with; it decodes what the real
/// tool wrote at every size; an empty, cut or altered object is an <see cref="InvalidDataException"/>; async reads honour
/// cancellation; and it streams, in memory that does not grow with the data. A decompressor's test class inherits
/// this, naming its type, the Debian packages of its tool and how the tool encodes.
/// </summary>
public abstract class DecompressorConformanceTests<TDecompressor> : CodecConformanceBase, IAsyncLifetime
    where TDecompressor : class, IDecompressor
{
    /// <summary>The decompressor under test, as dependency injection creates it.</summary>
    protected TDecompressor Decompressor => field ??= Build(_ => { }).GetServices<IDecompressor>().OfType<TDecompressor>().Single();

    /// <summary>The Debian packages of the tool that writes the format.</summary>
    protected abstract IReadOnlyList<string> ToolPackages { get; }

    /// <summary>What the real tool writes for <paramref name="data"/>.</summary>
    protected abstract Task<byte[]> EncodeWithToolAsync(byte[] data);

    /// <summary>Registers the decompressor under test: nothing for the built-in ones, which <c>AddPgArchive</c> registers.</summary>
    protected virtual void Register(IPgArchiveBuilder builder)
    {
    }

    public async ValueTask InitializeAsync() => await DebianPackages.EnsureInstalledAsync([.. ToolPackages]);

    public ValueTask DisposeAsync()
    {
        Dispose();
        GC.SuppressFinalize(this);
        return ValueTask.CompletedTask;
    }

    private ServiceProvider Build(Action<PgArchiveOptions> options) => Build(options, Register);

    private Stream Decode(Stream source) => Decompressor.CreateDecompressionStream(source);

    [Fact]
    public void Reads_objects_by_its_extension_and_is_refused_as_the_method_to_write_with()
    {
        var provider = Build(o => o.CompressionMethod = Decompressor.Method);

        var ex = Assert.Throws<PgArchiveConfigurationException>(() => provider.GetRequiredService<CompressorRegistry>());
        Assert.Contains($"'{Decompressor.Method}' (WALG_COMPRESSION_METHOD) is read, never written", ex.Message, StringComparison.Ordinal);
        var codec = Build(_ => { }).GetRequiredService<ObjectCodec>();
        Assert.IsType<TDecompressor>(codec.CompressorFor("wal_005/000000010000000000000001." + Decompressor.FileExtension));
    }

    [Fact]
    public async Task Decodes_what_the_tool_wrote_at_every_size()
    {
        foreach (var size in CodecProbes.Sizes)
        {
            var data = Codecs.Data(size, seed: size);
            var stored = await EncodeWithToolAsync(data);
            Assert.True(Codecs.Same(data, await Codecs.DecompressAsync(Decompressor, stored)), $"{size} bytes came back changed");
            Assert.True(Codecs.Same(data, await Codecs.DecompressAsync(Decompressor, stored, asynchronous: false)), $"{size} bytes came back changed (sync)");
        }
    }

    [Fact]
    public async Task Empty_object_is_invalid_data()
    {
        await Assert.ThrowsAsync<InvalidDataException>(() => CodecProbes.DecodeWithoutHangingAsync(Decode, []));
    }

    [Fact]
    public async Task Cut_object_is_invalid_data()
    {
        var stored = await EncodeWithToolAsync(Codecs.Data(300_000));

        foreach (var cut in new[] { stored.Length - 1, stored.Length / 2, 3 })
        {
            await Assert.ThrowsAsync<InvalidDataException>(() => CodecProbes.DecodeWithoutHangingAsync(Decode, stored[..cut]));
        }
    }

    [Fact]
    public async Task Changed_byte_is_invalid_data()
    {
        var stored = await EncodeWithToolAsync(Codecs.Data(200_000));
        stored[stored.Length * 3 / 4] ^= 0x5A;

        await Assert.ThrowsAsync<InvalidDataException>(() => CodecProbes.DecodeWithoutHangingAsync(Decode, stored));
    }

    [Fact]
    public Task Async_read_honours_cancellation() => CodecProbes.AssertAsyncReadHonoursCancellationAsync(Decode);

    [Fact]
    public async Task Decoding_64_MiB_streams_in_bounded_memory()
    {
        var small = await EncodeWithToolAsync(CodecProbes.PageData(CodecProbes.SmallLength));
        var large = await EncodeWithToolAsync(CodecProbes.PageData(CodecProbes.StreamedLength));

        CodecProbes.AssertBounded("decompressing",
            CodecProbes.AllocatedByDecoding(Decode, small, CodecProbes.SmallLength), CodecProbes.AllocatedByDecoding(Decode, large, CodecProbes.StreamedLength), 16L << 20);
    }
}
