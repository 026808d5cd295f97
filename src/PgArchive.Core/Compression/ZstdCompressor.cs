using Microsoft.Extensions.Options;
using ZstdSharp;
using ZstdSharp.Unsafe;

namespace PgArchive.Compression;

/// <summary>
/// Zstandard (<c>WALG_COMPRESSION_METHOD=zstd</c>, extension <c>.zst</c>), through ZstdSharp. Frames carry a
/// content checksum, as WAL-G's encoder writes them, so corruption is detected on read.
/// </summary>
public sealed class ZstdCompressor : ICompressor
{
    private const int BufferSize = 1 << 17;
    private readonly int _level;

    /// <summary>Creates the compressor with the default level.</summary>
    public ZstdCompressor() : this(new ZstdCompressorOptions())
    {
    }

    /// <summary>Creates the compressor with the options' level.</summary>
    public ZstdCompressor(IOptions<ZstdCompressorOptions> options) : this(options?.Value ?? throw new ArgumentNullException(nameof(options)))
    {
    }

    /// <summary>Creates the compressor with the options' level.</summary>
    public ZstdCompressor(ZstdCompressorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Level, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.Level, 22, nameof(options));
        _level = options.Level;
    }

    /// <inheritdoc />
    public string Method => "zstd";

    /// <inheritdoc />
    public string FileExtension => "zst";

    /// <summary>The compression level new objects are written with.</summary>
    public int Level => _level;

    /// <inheritdoc />
    public Stream CreateCompressionStream(Stream destination, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(destination);
        var stream = new CompressionStream(destination, _level, BufferSize, leaveOpen);
        stream.SetParameter(ZSTD_cParameter.ZSTD_c_checksumFlag, 1);
        return stream;
    }

    /// <inheritdoc />
    public Stream CreateDecompressionStream(Stream source, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(source);
        // checkEndOfStream: a frame cut short is an error, not a short read. An empty object reads as empty content:
        // WAL-G's encoder (klauspost/compress without WithZeroFrames) writes no frame at all for empty input.
        var decoder = new DecompressionStream(source, BufferSize, checkEndOfStream: true, leaveOpen);
        return new DecompressionErrorStream(decoder, Method, static ex => ex is ZstdException);
    }
}
